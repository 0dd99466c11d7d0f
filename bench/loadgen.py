"""A small HTTP load generator for the benchmarks (no dependencies beyond the stdlib).

Two modes, both over keep-alive connections from several processes:

* closed loop: ``concurrency`` clients each send the next request as soon as the last one
  answered; gives the throughput ceiling (requests/s);
* open loop at a fixed rate: requests are *scheduled* at a constant rate and latency is
  measured from the scheduled time, not from when a client got round to sending it, so
  queueing delay shows in the percentiles instead of being hidden (coordinated omission).

A scenario is a class with ``setup(worker_index) -> state`` (run once per client thread)
and ``step(client, state) -> None`` which sends one logical operation (possibly several
HTTP requests) through ``client.request`` and raises on an unexpected answer.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing as mp
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from queue import Empty, Queue
from typing import Any
from urllib.parse import urlsplit


class UnexpectedStatus(Exception):
    pass


class Client:
    """One keep-alive connection; reconnects after errors."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        expect: tuple[int, ...] = (200, 201),
    ) -> Any:
        data = None if body is None else json.dumps(body).encode()
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        try:
            self.conn.request(method, path, body=data, headers=all_headers)
            response = self.conn.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            raise
        if response.status not in expect:
            raise UnexpectedStatus(f"{method} {path} -> {response.status}: {payload[:300]!r}")
        return json.loads(payload) if payload else None


@dataclass
class Result:
    name: str
    mode: str
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def rps(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def pct(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
        return ordered[index] * 1000

    def line(self) -> str:
        return (
            f"{self.name:<34} {self.mode:<12} {self.rps:9.1f} req/s  "
            f"p50 {self.pct(50):7.2f} ms  p99 {self.pct(99):7.2f} ms  "
            f"p99.9 {self.pct(99.9):7.2f} ms  n={self.count} errors={self.errors}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "mode": self.mode,
            "rps": round(self.rps, 1),
            "p50_ms": round(self.pct(50), 2),
            "p99_ms": round(self.pct(99), 2),
            "p99_9_ms": round(self.pct(99.9), 2),
            "count": self.count,
            "errors": self.errors,
            "mean_ms": round(statistics.fmean(self.latencies) * 1000, 2)
            if self.latencies
            else None,
        }


def _worker_process(
    factory: Callable[[], Any],
    base_url: str,
    process_index: int,
    threads: int,
    duration: float,
    rate: float | None,
    start_at: float,
    out: mp.Queue,
) -> None:
    scenario = factory()
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    schedule: Queue[float] = Queue()
    stop_at = start_at + duration

    def client_thread(thread_index: int) -> None:
        client = Client(base_url)
        state = scenario.setup(process_index * threads + thread_index)
        while time.monotonic() < start_at:
            time.sleep(0.001)
        while True:
            if rate is None:
                if time.monotonic() >= stop_at:
                    return
                scheduled = time.monotonic()
            else:
                try:
                    scheduled = schedule.get(timeout=0.2)
                except Empty:
                    if time.monotonic() >= stop_at:
                        return
                    continue
                if scheduled < 0:
                    return
            try:
                scenario.step(client, state)
                elapsed = time.monotonic() - scheduled
                with lock:
                    latencies.append(elapsed)
            except StopIteration:
                return  # this client used up its prepared work (codes, gifts)
            except Exception as exc:
                with lock:
                    errors.append(repr(exc)[:300])

    workers = [threading.Thread(target=client_thread, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    if rate is not None:
        interval = 1.0 / rate
        next_at = start_at
        while next_at < stop_at:
            now = time.monotonic()
            if next_at > now:
                time.sleep(min(next_at - now, 0.01))
                continue
            schedule.put(next_at)
            next_at += interval
        for _ in workers:
            schedule.put(-1.0)
    for worker in workers:
        worker.join()
    out.put((latencies, errors))


def run(
    name: str,
    factory: Callable[[], Any],
    base_url: str,
    *,
    processes: int = 2,
    threads: int = 8,
    duration: float = 10.0,
    rate: float | None = None,
) -> Result:
    """Run a scenario; ``rate`` (operations/s in total) selects the open-loop mode."""
    ctx = mp.get_context("fork")
    out: mp.Queue = ctx.Queue()
    start_at = time.monotonic() + 1.0
    per_process_rate = rate / processes if rate else None
    procs = [
        ctx.Process(
            target=_worker_process,
            args=(factory, base_url, i, threads, duration, per_process_rate, start_at, out),
        )
        for i in range(processes)
    ]
    for proc in procs:
        proc.start()
    result = Result(name=name, mode=f"rate {rate:g}/s" if rate else "closed loop", seconds=duration)
    for _ in procs:
        latencies, errors = out.get()
        result.latencies.extend(latencies)
        result.errors += len(errors)
        result.error_samples.extend(errors[:3])
    for proc in procs:
        proc.join()
    return result
