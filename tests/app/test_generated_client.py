"""A client generated from the committed spec by openapi-python-client: it builds without
warnings (but for the QR images, which it cannot type), and its functions are named after
the operations (``api/counter/create_charge.py``, not ``post_v1_charges.py``)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "openapi" / "openapi.json"
GENERATOR = Path(sys.executable).with_name("openapi-python-client")
PACKAGE = "bean_wallet_client"
# A warning is a paragraph: the operation, then what was left out of the client.
WARNING = re.compile(r"^WARNING parsing (\w+) (\S+) within \w+\.\n\n(.+)$", re.MULTILINE)
IMAGE_RESPONSE = "Unsupported content_type image/png, image/svg+xml"


def _generate(tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], Path]:
    config = tmp_path / "config.json"
    # No post hooks: the default ones format the client with ruff, found on PATH or not.
    config.write_text(json.dumps({"post_hooks": [], "package_name_override": PACKAGE}))
    output = tmp_path / PACKAGE
    command = [str(GENERATOR), "generate", "--path", str(SPEC), "--output-path", str(output)]
    command += ["--meta", "none", "--config", str(config)]
    # S603: our own console script with fixed arguments.
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)  # noqa: S603
    return result, output


def test_the_generated_client_builds_with_readable_names(tmp_path):
    result, output = _generate(tmp_path)
    said = result.stdout + result.stderr
    assert result.returncode == 0, said

    warnings = WARNING.findall(said)
    assert said.count("WARNING") == len(warnings), said
    assert {(method, path) for method, path, _ in warnings} == {
        ("GET", "/v1/wallet/pay-codes/{pay_code_id}/qr"),
        ("GET", "/v1/gifts/{gift_id}/qr"),
    }, said
    assert all(IMAGE_RESPONSE in message for _, _, message in warnings), said

    spec = json.loads(SPEC.read_text())
    operation_ids = {
        operation["operationId"]
        for item in spec["paths"].values()
        for method, operation in item.items()
        if method != "parameters"
    }
    modules = {module.stem for module in (output / "api").glob("*/*.py")} - {"__init__"}
    assert modules == operation_ids
    for module in ("counter/create_charge", "auth/login", "loyalty/redeem_reward"):
        assert (output / "api" / f"{module}.py").is_file(), module

    # It imports, and a problem answer parses as the Problem model.
    check = (
        f"from {PACKAGE}.api.counter import create_charge\n"
        f"from {PACKAGE}.models import Problem\n"
        "problem = Problem.from_dict({'type': 'urn:x', 'title': 'Not enough credit', "
        "'status': 402, 'detail': 'd', 'code': 'insufficient_funds', 'balance': 5})\n"
        "assert problem.code == 'insufficient_funds'\n"
        "assert callable(create_charge.sync_detailed)\n"
    )
    # S603: our own interpreter and code.
    imported = subprocess.run(  # noqa: S603
        [sys.executable, "-c", check],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert imported.returncode == 0, imported.stderr
