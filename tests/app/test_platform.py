"""Health, readiness, errors from Flask itself, the spec and the migrations."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.support.api import problem

ROOT = Path(__file__).resolve().parents[2]


def test_health(client):
    assert client.get("/health").get_json() == {"status": "ok"}


def test_ready_when_migrated(client):
    body = client.get("/ready").get_json()
    # The suite's app keeps its rate limits in the test Redis when one is given.
    redis = "ok" if os.environ.get("WALLET_TEST_REDIS_URL") else "not configured"
    assert body == {"ready": True, "database": "ok", "migrations": "at head", "redis": redis}


def test_unknown_path_is_problem_404(client):
    problem(client.get("/v1/nope"), 404, "not_found")


def test_wrong_method_is_problem_405(client):
    response = client.delete("/health")
    problem(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


def test_unexpected_errors_show_no_internals(app, client, monkeypatch, caplog):
    from wallet_api.ops import service

    def broken():
        raise RuntimeError("SELECT secret FROM passwords")

    monkeypatch.setattr(service, "readiness", broken)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    response = client.get("/ready")
    body = problem(response, 500, "internal_error")
    assert "SELECT" not in response.get_data(as_text=True)
    assert body["detail"] == "An unexpected error occurred."
    # The operator's log has what the client does not: the exception itself, not Flask's
    # InternalServerError wrapped around it.
    logged = [r for r in caplog.records if r.getMessage() == "unhandled error"]
    assert [type(r.exc_info[1]) for r in logged] == [RuntimeError]
    # Under the request's id, which the client has to quote; and the 500 has its access line.
    request_id = response.headers["X-Request-ID"]
    assert body["request_id"] == request_id
    assert [r.request_id for r in logged] == [request_id]
    (access,) = [r for r in caplog.records if r.name == "wallet_api.access"]
    assert (access.route, access.status, access.request_id) == ("/ready", 500, request_id)


def test_committed_openapi_spec_is_current(client):
    served = client.get("/openapi.json").get_json()
    committed = json.loads((ROOT / "openapi" / "openapi.json").read_text())
    assert served == committed, "openapi/openapi.json is stale: run `wallet-api openapi write`"


def test_docs_are_served(client):
    assert client.get("/docs").status_code == 200


def test_models_and_migrations_agree(app):
    """Autogenerate finds no difference between the models and the migrated schema."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from wallet_api.extensions import db

    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == [], diff


def test_migrations_have_one_head(app):
    from wallet_api.ops.service import expected_heads

    with app.app_context():
        assert len(expected_heads()) == 1


def test_a_required_body_that_is_missing_is_400(api):
    anna = api.register("Anna")
    problem(api.request("PATCH", "/v1/me", as_=anna), 400, "body_required")


def test_a_body_schema_is_made_once_and_keeps_nothing_between_requests(api, monkeypatch):
    # Blueprint.arguments makes the schema when the route is declared; webargs would make
    # one per request (and marshmallow copies every field for each). One instance then
    # serves every request, so an invalid body must leave nothing behind for the next.
    from wallet_api.auth.schemas import LoginSchema

    made = []
    real_init = LoginSchema.__init__
    monkeypatch.setattr(
        LoginSchema, "__init__", lambda self, *a, **kw: made.append(1) or real_init(self, *a, **kw)
    )
    invalid = problem(
        api.post("/v1/auth/login", {"email": "not-an-email"}), 422, "validation_error"
    )
    assert set(invalid["errors"]) == {"email", "password"}
    body = {"email": "nobody@example.com", "password": "wrong-password"}
    problem(api.post("/v1/auth/login", body), 401, "invalid_credentials")
    assert made == []


def test_booleans_are_strict(api):
    ada = api.admin()
    response = api.post(
        "/v1/catalog/ingredients", {"kind": "milk", "name": "Oat", "is_available": 1}, as_=ada
    )
    assert "is_available" in problem(response, 422, "validation_error")["errors"]


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("PATCH", "/v1/me", {"first_name": "An\x00na"}, "first_name"),
        ("POST", "/v1/catalog/ingredients", {"kind": "milk", "name": "Oat\x00"}, "name"),
        (
            "POST",
            "/v1/catalog/products",
            {"name": "Tea", "prices": [{"size": "M", "price": 300}], "category": "\x00"},
            "category",
        ),
        ("GET", "/v1/audit-events?tag=lo%00gin", None, "tag"),
    ],
)
def test_text_with_a_nul_is_422_on_every_database(api, method, path, body, field):
    # PostgreSQL cannot store a NUL in text: without the schema's check these were a 500
    # there (found by fuzzing on PostgreSQL) and stored silently on SQLite.
    ada = api.admin()
    response = api.request(method, path, body, as_=ada)
    errors = problem(response, 422, "validation_error")["errors"]
    assert errors == {field: ["Text may not contain the NUL character."]}
    assert api.get("/v1/me", as_=ada).get_json()["first_name"] == "Ada"


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/users/an%00na/blends"), ("POST", "/v1/gift-claims/ab%00cd")],
)
def test_a_nul_in_a_path_is_a_stranger(api, method, path):
    # No handle or claim token can hold a NUL, so it names nothing: 404, as for any unknown.
    anna = api.register("Anna")
    assert api.request(method, path, as_=anna, idem=True).status_code == 404
