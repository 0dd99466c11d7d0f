"""Schemathesis against the committed OpenAPI spec, with signed-in users.

Every operation gets generated requests (valid and invalid); no answer may be a 5xx and
every answer must conform to the spec (status documented, body matching its schema,
content type as documented). Roughly 5,000 requests in all.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.support.api import ApiClient

SPEC = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"
# A longer, random run (new inputs each time) finds what the fixed one does not:
# WALLET_FUZZ_REQUESTS=25000 WALLET_FUZZ_RANDOM=1, on PostgreSQL as well as SQLite.
TOTAL_REQUESTS = int(os.environ.get("WALLET_FUZZ_REQUESTS", "5000"))

schema = schemathesis.openapi.from_path(str(SPEC))
OPERATIONS = sum(1 for result in schema.get_all_operations() if result.ok())
EXAMPLES_PER_OPERATION = math.ceil(TOTAL_REQUESTS / max(OPERATIONS, 1))
_sent = {"requests": 0, "signed_in": 0}
BEARER_REFUSALS = {"token_missing", "token_invalid", "token_expired"}
_current = {"token": ""}


# Not cached: every test has its own database and its own admin, so a token cached from
# an earlier test would be a stranger's and most requests would only ever see a 401.
@schema.auth(refresh_interval=None)
class SignedInAdmin:
    """Sends the admin's token, so schemathesis knows which auth is the valid one."""

    def get(self, case, context):  # type: ignore[no-untyped-def]
        return _current["token"]

    def set(self, case, data, context):  # type: ignore[no-untyped-def]
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@pytest.fixture
def principals(client):
    """An admin (who may call customer and admin operations) and a customer."""
    api = ApiClient(client)
    return {"admin": api.admin("Ada"), "customer": api.register("Fuzzy")}


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=not os.environ.get("WALLET_FUZZ_RANDOM"),
)
def test_api_conforms_to_its_spec(case, app, principals):
    _current["token"] = principals["admin"].access_token
    # Some checks send probes of their own (the same request without its token, say)
    # through the schema's transport rather than the one given to `call`, so the schema
    # itself must know the app, or the probes would go to a real socket.
    case.operation.schema.app = app
    transport = {"app": app, "base_url": "http://localhost"}
    response = case.call(**transport)
    _sent["requests"] += 1
    if (case.headers or {}).get("Authorization") == f"Bearer {_current['token']}":
        _sent["signed_in"] += 1
        # (a wrong refresh token or device secret in the body is another, rightful 401)
        if response.status_code == 401:
            assert response.json()["code"] not in BEARER_REFUSALS, response.text
    assert response.status_code < 500, response.text
    # Business rules (a unique handle, shares summing to 100, ...) cannot all be said in
    # JSON Schema, so a schema-valid request may rightly get a 4xx; everything else holds.
    case.validate_response(
        response, excluded_checks=[positive_data_acceptance], transport_kwargs=transport
    )


def test_enough_requests_were_generated():
    if _sent["requests"] == 0:
        pytest.skip("the fuzz test did not run in this session")
    assert _sent["requests"] >= TOTAL_REQUESTS * 0.9, _sent
    # Schemathesis also sends made-up tokens (rightly a 401); but if few requests carried
    # this test's own admin token, the run tested little beyond the sign-in check.
    assert _sent["signed_in"] >= _sent["requests"] * 0.25, _sent
