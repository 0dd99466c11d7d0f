"""Real processes for the fault-injection tests: gunicorn serving ``wsgi:app``, a private
PostgreSQL cluster the test may crash and restart, and an HTTP client that retries a
request with its Idempotency-Key until it gets a definite answer.

Nothing here touches the shared PostgreSQL server: the private cluster lives in its own
temporary directory, on its own port, and is stopped and removed at the end.
"""

from __future__ import annotations

import contextlib
import glob
import http.client
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).parent / "wallet-api")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- HTTP --------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]


def call(
    port: int,
    method: str,
    path: str,
    body: Any = None,
    *,
    token: str | None = None,
    key: str | None = None,
    timeout: float = 30,
) -> Answer:
    """One request on a new connection (so the kernel spreads them over the workers)."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if key:
        headers["Idempotency-Key"] = key
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        payload = None if body is None else json.dumps(body)
        connection.request(method, path, payload, headers)
        response = connection.getresponse()
        raw = response.read()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode(errors="replace")
        return Answer(response.status, parsed, {k.lower(): v for k, v in response.getheaders()})
    finally:
        connection.close()


@dataclass
class Attempts:
    """How a request with one key got its answer."""

    answer: Answer | None = None
    connection_errors: int = 0
    statuses: list[int] = field(default_factory=list)  # every status seen, 5xx included


def until_definite(
    port: int,
    method: str,
    path: str,
    body: Any,
    *,
    token: str,
    key: str,
    give_up_after: float = 120,
) -> Attempts:
    """Send the same request (same key, same body) until it is answered with anything but a
    5xx or 429: a broken connection, a killed worker or a database restart is retried, as a
    careful client would. ``answer`` stays None only if it never got a definite answer."""
    attempts = Attempts()
    deadline = time.monotonic() + give_up_after
    while time.monotonic() < deadline:
        try:
            answer = call(port, method, path, body, token=token, key=key)
        except (OSError, http.client.HTTPException):
            attempts.connection_errors += 1
            time.sleep(0.1)
            continue
        attempts.statuses.append(answer.status)
        if answer.status >= 500 or answer.status == 429:
            # Retry-After is a hint; under test a short pause is enough.
            time.sleep(0.2)
            continue
        attempts.answer = answer
        break
    return attempts


def wait_for(port: int, path: str, status: int, timeout: float) -> tuple[float, list[str]]:
    """Seconds until GET ``path`` answers ``status``, and what it answered before (statuses,
    or the error of a broken connection); raises TimeoutError after ``timeout``."""
    started = time.monotonic()
    seen: list[str] = []
    while time.monotonic() - started < timeout:
        try:
            answer = call(port, "GET", path, timeout=timeout)
        except (OSError, http.client.HTTPException) as exc:
            seen.append(type(exc).__name__)
        else:
            if answer.status == status:
                return time.monotonic() - started, seen
            seen.append(str(answer.status))
        time.sleep(0.05)
    raise TimeoutError(f"GET {path} did not answer {status} within {timeout} s: {seen}")


# --- gunicorn ----------------------------------------------------------------------------


@dataclass
class Gunicorn:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def workers(self) -> list[int]:
        """The master's children now (the workers, fresh respawns included), oldest first."""
        children = []
        for stat in glob.glob("/proc/[0-9]*/stat"):
            try:
                # After the "(comm)" field: state, ppid, ... and starttime 20th of them.
                fields = Path(stat).read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.process.pid:
                children.append((int(fields[19]), int(stat.split("/")[2])))
        return [pid for _, pid in sorted(children)]


@contextlib.contextmanager
def gunicorn(env: dict[str, str], log: Path, workers: int = 2) -> Iterator[Gunicorn]:
    """``gunicorn -w N wsgi:app`` on a free port, stopped (by its own pid) at the end."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "-w",
        str(workers),
        "-b",
        f"127.0.0.1:{port}",
        "--graceful-timeout",
        "5",
        "wsgi:app",
    ]
    with log.open("wb") as output:
        # S603: our own interpreter and arguments.
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=output)  # noqa: S603
    server = Gunicorn(port, process, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if call(port, "GET", "/health", timeout=5).status == 200:
                    break
            except (OSError, http.client.HTTPException):
                assert time.monotonic() < deadline, "gunicorn did not start:\n" + log.read_text()
                time.sleep(0.2)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- a Redis that goes away and comes back ---------------------------------------------


class RedisSwitch:
    """A TCP forwarder in front of the test Redis that can play dead: while down it hangs
    up on every new connection and has cut those it was forwarding, as a Redis that
    restarts or a broken network does. Starts down."""

    def __init__(self, target_url: str) -> None:
        target = urlsplit(target_url)
        self.target = (target.hostname or "127.0.0.1", target.port or 6379)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.url = f"redis://127.0.0.1:{self.listener.getsockname()[1]}{target.path}"
        self.is_up = False
        self.stopped = False
        self.forwarded: set[socket.socket] = set()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def up(self) -> None:
        self.is_up = True

    def down(self) -> None:
        self.is_up = False
        with self.lock:
            for sock in self.forwarded:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            self.forwarded.clear()

    def close(self) -> None:
        self.stopped = True
        self.thread.join(timeout=5)
        self.listener.close()
        self.down()

    def _accept(self) -> None:
        while not self.stopped:
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            if not self.is_up:
                client.close()
                continue
            upstream = socket.create_connection(self.target, timeout=5)
            with self.lock:
                self.forwarded.update((client, upstream))
            threading.Thread(target=self._forward, args=(client, upstream), daemon=True).start()

    def _forward(self, client: socket.socket, upstream: socket.socket) -> None:
        pair = {client: upstream, upstream: client}
        with contextlib.suppress(OSError, ValueError):  # ValueError: closed by down()
            while True:
                readable, _, _ = select.select(list(pair), [], [])
                chunks = [(pair[sock], sock.recv(65536)) for sock in readable]
                if not all(data for _, data in chunks):
                    break
                for sink, data in chunks:
                    sink.sendall(data)
        with self.lock:
            self.forwarded.difference_update(pair)
        for sock in pair:
            sock.close()


@contextlib.contextmanager
def redis_switch(target_url: str) -> Iterator[RedisSwitch]:
    switch = RedisSwitch(target_url)
    try:
        yield switch
    finally:
        switch.close()


# --- a private PostgreSQL cluster ---------------------------------------------------------


def postgres_binaries() -> Path | None:
    """The newest installed server's bin directory (Debian layout), or None."""

    def version(pg_ctl: str) -> int:
        name = Path(pg_ctl).parent.parent.name
        return int(name) if name.isdigit() else 0

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=version)
    return Path(found[-1]).parent if found else None


@dataclass
class PrivatePostgres:
    """A throwaway cluster: ``url`` for the app, ``crash_and_restart()`` for the test."""

    bin: Path
    data: Path
    port: int
    database: str = "rel_fault"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{self.database}"

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        command = list(args)
        if os.geteuid() == 0:
            # initdb and postgres refuse to run as root; CI runs as root.
            command = ["runuser", "-u", "postgres", "--", *command]
        # S603: fixed PostgreSQL binaries and our own arguments.
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)  # noqa: S603
        assert done.returncode == 0, (command, done.stdout, done.stderr)
        return done

    def _pg_ctl(self, *args: str) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data / "cluster"), *args)

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 "
            # Connections of several workers and the test's own checks, with room to spare.
            "-c max_connections=100 "
            # A crash of the server (what the test does) loses nothing without fsync; only
            # an operating-system crash would, and that is not under test.
            "-c fsync=off"
        )
        log = str(self.data / "server.log")
        self._pg_ctl("-o", options, "-l", log, "-w", "-t", "60", "start")

    def stop_immediately(self) -> None:
        """``pg_ctl stop -m immediate``: every server process quits at once, no checkpoint;
        the next start recovers from the WAL, as after a crash."""
        self._pg_ctl("-m", "immediate", "-w", "stop")

    def create_database(self) -> None:
        self._run(
            str(self.bin / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            self.database,
        )


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """initdb into a fresh temporary directory, start on a free port, create the database;
    always stopped and removed at the end. Needs the PostgreSQL server binaries."""
    binaries = postgres_binaries()
    assert binaries is not None, "no PostgreSQL server binaries under /usr/lib/postgresql"
    data = Path(tempfile.mkdtemp(prefix="wallet-rel-pg-"))
    cluster = PrivatePostgres(binaries, data, free_port())
    started = False
    try:
        if os.geteuid() == 0:
            shutil.chown(data, "postgres", "postgres")
        cluster._run(
            str(binaries / "initdb"),
            "-D",
            str(data / "cluster"),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
        )
        cluster.start()
        started = True
        cluster.create_database()
        yield cluster
    finally:
        if started:
            with contextlib.suppress(AssertionError, subprocess.TimeoutExpired):
                cluster.stop_immediately()
        shutil.rmtree(data, ignore_errors=True)


def wallet_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``wallet-api ...`` as an operator runs it, with ``env``."""
    # S603: our own console script with fixed arguments.
    return subprocess.run(  # noqa: S603
        [CLI, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
