#!/bin/sh
# Every benchmark of issue 8, one after another, with their figures on stdout and in
# bench/results/ (not committed). About 40 minutes on 2 cores. Needs PostgreSQL on
# 127.0.0.1:5432 (databases bench_http, bench_growth, bench_profile are created if missing
# and wiped) and Redis on 127.0.0.1:6379 (db 7 is flushed).
#
#     sh bench/run_all.sh
set -eu
cd "$(dirname "$0")/.."
PY=.venv/bin/python
OUT=bench/results
mkdir -p "$OUT"
for db in bench_http bench_growth bench_profile; do
    psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1 \
        || psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE $db"
done
echo "== machine: $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== 1. HTTP: bare Flask, charges (many stores, one busy store), raw SQL, scan->charge, top-ups, transfers, gifts"
$PY bench/http_bench.py --json "$OUT/http.json" 2>&1 | tee "$OUT/http.txt" | grep -v '^INFO'
echo "== 2. ORM vs Core on the charge's service path"
$PY bench/orm_core.py 2>&1 | tee "$OUT/orm_core.txt" | grep -v '^INFO'
echo "== 3. Growth: 10,000 vs 1,000,000 ledger entries; worker memory after 10,000 and 50,000 requests"
$PY bench/growth.py 2>&1 | tee "$OUT/growth.txt" | grep -v '^INFO'
echo "== 4. SQLite: 32 concurrent writers"
$PY bench/sqlite_writers.py 2>&1 | tee "$OUT/sqlite_writers.txt" | grep -v '^INFO'
