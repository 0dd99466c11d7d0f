#!/usr/bin/env python3
"""Developer entry point; needs nothing but Python 3.11+.

    python3 dev.py serve      # virtualenv, install, migrate, seed the demo, serve :5000
    python3 dev.py test       # the whole test suite (SQLite; PostgreSQL if configured), in
                              # parallel (pytest-xdist; pass -n 0 for one process)
    python3 dev.py lint       # ruff lint and format check, import contracts (lint-imports)
    python3 dev.py typecheck  # mypy, strict on wallet_api (pyproject.toml's [tool.mypy])

The virtualenv lives in .venv (or $WALLET_VENV) and is reinstalled only when
pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("WALLET_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".bean-wallet-install"


def _run(*args: str | Path, **kwargs: Any) -> None:
    completed = subprocess.run([str(a) for a in args], cwd=ROOT, check=False, **kwargs)
    if completed.returncode:
        sys.exit(completed.returncode)


def ensure_virtualenv() -> None:
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not (BIN / "python").exists():
        print(f"creating virtualenv in {VENV}", flush=True)
        venv.create(VENV, with_pip=True)
    print("installing Bean Wallet and its dependencies", flush=True)
    _run(BIN / "python", "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    _run(BIN / "python", "-m", "pip", "install", "--quiet", "-e", ".[dev]")
    STAMP.write_text(wanted)


def serve() -> None:
    ensure_virtualenv()
    cli = BIN / "wallet-api"
    _run(cli, "db", "upgrade")
    _run(cli, "seed-demo")
    host, port = "127.0.0.1", os.environ.get("WALLET_PORT", "5000")
    print(f"\nBean Wallet is serving on http://{host}:{port}  (API docs: /docs)\n", flush=True)
    os.execv(cli, [str(cli), "run", "--host", host, "--port", port])  # noqa: S606  (our own CLI)


def test(args: list[str]) -> None:
    ensure_virtualenv()
    # The suite spends much of its time waiting on databases, browsers and subprocesses, so
    # it runs in one pytest-xdist worker per core unless told otherwise (-n 0: one process).
    parallel = [] if any(a.startswith(("-n", "--numprocesses")) for a in args) else ["-n", "auto"]
    _run(BIN / "python", "-m", "pytest", *parallel, "--dist", "worksteal", *args)


def lint() -> None:
    ensure_virtualenv()
    _run(BIN / "ruff", "check", ".")
    _run(BIN / "ruff", "format", "--check", ".")
    # The packages' import contracts (pyproject.toml): no cycles, the till knows no kind.
    _run(BIN / "lint-imports", "--no-cache")


def typecheck() -> None:
    ensure_virtualenv()
    _run(BIN / "mypy")


def main() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036  (the one check that must run on old Pythons)
        sys.exit("Bean Wallet needs Python 3.11 or newer.")
    command, *rest = sys.argv[1:] or ["help"]
    if command == "serve":
        serve()
    elif command == "test":
        test(rest)
    elif command == "lint":
        lint()
    elif command == "typecheck":
        typecheck()
    else:
        print(__doc__)
        sys.exit(0 if command == "help" else 2)


if __name__ == "__main__":
    main()
