"""The spec documents every operation: a readable name, a description, and the problem
codes it can answer, kept with the code (``@blp.problems``, ``auth``, ``idempotent``,
``arguments``)."""

from __future__ import annotations

import ast
import re
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from tests.support.api import problem
from tests.support.stores import charge, counter_scene, pay_code

PACKAGE = Path(__file__).resolve().parents[2] / "wallet_api"
METHODS = {"get", "put", "post", "patch", "delete"}


@pytest.fixture
def spec(client):
    return client.get("/openapi.json").get_json()


def _operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield f"{method.upper()} {path}", operation


def _documented(spec, operation_id: str) -> dict[int, set[str]]:
    """The problem codes ``operation_id`` documents, by status."""
    (operation,) = [op for _, op in _operations(spec) if op["operationId"] == operation_id]
    return {
        int(status): set(response.get("x-problem-codes", ()))
        for status, response in operation["responses"].items()
        if status != "default"
    }


def _assert_documented(spec, operation_id: str, response) -> None:
    body = response.get_json(force=True)
    documented = _documented(spec, operation_id)
    assert body["code"] in documented.get(response.status_code, set()), (
        operation_id,
        response.status_code,
        body["code"],
        documented,
    )


def test_every_operation_has_a_unique_readable_operation_id(spec):
    ids = {name: operation.get("operationId") for name, operation in _operations(spec)}
    unreadable = {
        name: id_ for name, id_ in ids.items() if not re.fullmatch(r"[a-z][a-z0-9_]*", id_ or "")
    }
    assert not unreadable
    repeated = [id_ for id_, count in Counter(ids.values()).items() if count > 1]
    assert not repeated
    assert ids["POST /v1/charges"] == "create_charge"
    assert ids["GET /v1/blends"] == "list_my_blends"


def test_every_operation_has_a_summary_and_a_description(spec):
    for name, operation in _operations(spec):
        assert operation.get("summary"), name
        # More than the summary again: who may call it, what it does.
        assert len(operation.get("description", "")) > 20, name


def test_every_error_response_names_its_codes(spec):
    for name, operation in _operations(spec):
        for status, response in operation["responses"].items():
            if status == "default" or int(status) < 400:
                continue
            codes = response.get("x-problem-codes")
            assert codes, (name, status)
            for code in codes:
                assert f"`{code}`" in response["description"], (name, status, code)


def test_a_signed_in_operation_documents_the_token_problems(spec):
    documented = _documented(spec, "get_wallet")
    assert {"token_missing", "token_invalid", "token_expired", "token_revoked"} <= documented[401]
    assert "forbidden" in documented[403]
    assert "database_unavailable" in documented[503]
    assert "device_revoked" in _documented(spec, "create_charge")[401]


def test_a_json_body_and_an_idempotency_key_document_their_problems(spec):
    documented = _documented(spec, "create_charge")
    assert {"malformed_json", "json_too_deep", "body_required", "idempotency_key_missing"} <= (
        documented[400]
    )
    assert documented[415] == {"unsupported_media_type"}
    assert {"validation_error", "idempotency_key_reused"} <= documented[422]
    # A body that may be left out is never `body_required`.
    assert "body_required" not in _documented(spec, "create_pay_code").get(400, set())


def test_the_problems_a_charge_answers_are_documented(api, spec):
    from wallet_api.clock import clock

    scene = counter_scene(api, funds=100)
    unknown = charge(api, scene.scanner, "PNOTACODE", amount=100)
    problem(unknown, 404, "code_unknown")
    _assert_documented(spec, "create_charge", unknown)
    poor = charge(api, scene.scanner, pay_code(api, scene.anna)["code"], amount=101)
    problem(poor, 402, "insufficient_funds")
    _assert_documented(spec, "create_charge", poor)
    stale = pay_code(api, scene.anna)["code"]
    clock.freeze(clock.now() + timedelta(hours=1))
    expired = charge(api, scene.scanner, stale, amount=100)
    problem(expired, 410, "code_expired")
    _assert_documented(spec, "create_charge", expired)


def test_the_problems_a_login_answers_are_documented(api, spec):
    from wallet_api.extensions import limiter

    body = {"email": "nobody@example.com", "password": "wrong"}
    refused = api.post("/v1/auth/login", body)
    problem(refused, 401, "invalid_credentials")
    _assert_documented(spec, "login", refused)
    limiter.enabled = True
    # Other accounts each time: the client's own limit (10 a minute), not one account's.
    for n in range(12):
        limited = api.post("/v1/auth/login", {**body, "email": f"n{n}@example.com"})
    problem(limited, 429, "rate_limited")
    _assert_documented(spec, "login", limited)


def test_a_body_too_large_is_documented(api, spec):
    too_large = api.post("/v1/auth/register", {"first_name": "x" * 70_000})
    problem(too_large, 413, "payload_too_large")
    _assert_documented(spec, "register", too_large)


def _raised_problem_classes() -> set[str]:
    """The names of the exceptions our code raises: ``raise Name(...)`` or ``raise Name``."""
    names = set()
    for source in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Raise) and node.exc is not None:
                raised = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
                if isinstance(raised, ast.Name):
                    names.add(raised.id)
    return names


def _problem_classes():
    from wallet_api.extensions.problems import ApiError

    seen, pending = [], [ApiError]
    while pending:
        for subclass in pending.pop().__subclasses__():
            seen.append(subclass)
            pending.append(subclass)
    return seen


def test_every_problem_our_code_raises_is_documented_somewhere(app, spec):
    documented = {
        code
        for _, operation in _operations(spec)
        for response in operation["responses"].values()
        for code in response.get("x-problem-codes", ())
    }
    raised = _raised_problem_classes()
    undocumented = {
        error.__name__: error.code
        for error in _problem_classes()
        if error.__name__ in raised and error.code not in documented
    }
    assert not undocumented
