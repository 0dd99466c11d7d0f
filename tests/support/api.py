"""Small helpers so API tests read like a client's story."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from typing import Any

from flask.testing import FlaskClient
from limits import parse_many
from werkzeug.test import TestResponse

PASSWORD = "correct horse battery"
# An id that names nothing, fixed so that parametrized test ids are the same in every
# pytest-xdist worker (a fresh uuid4 per collection makes the workers disagree).
UNKNOWN_ID = uuid.UUID("00000000-0000-4000-8000-0000000d0e5a")
_counter = itertools.count(1)


@dataclass
class Person:
    id: str
    email: str
    handle: str
    first_name: str
    access_token: str
    refresh_token: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


class ApiClient:
    """Wraps the Flask test client: ``api.post(path, json, as_=person, idem=True)``."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def request(
        self,
        method: str,
        path: str,
        json: Any = None,
        *,
        as_: Person | str | None = None,
        idem: bool | str = False,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> TestResponse:
        all_headers = dict(headers or {})
        if isinstance(as_, Person):
            all_headers.update(as_.headers)
        elif isinstance(as_, str):
            all_headers["Authorization"] = f"Bearer {as_}"
        if idem:
            all_headers["Idempotency-Key"] = idem if isinstance(idem, str) else uuid.uuid4().hex
        return self.client.open(path, method=method, json=json, headers=all_headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> TestResponse:
        return self.request("POST", path, json, **kwargs)

    def patch(self, path: str, json: Any = None, **kwargs: Any) -> TestResponse:
        return self.request("PATCH", path, json, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("DELETE", path, **kwargs)

    # --- people ------------------------------------------------------------------------

    def register(self, first_name: str = "Anna", **overrides: Any) -> Person:
        n = next(_counter)
        handle = overrides.pop("handle", f"{first_name.lower()}{n}")
        body = {
            "email": overrides.pop("email", f"{handle}@example.com"),
            "password": overrides.pop("password", PASSWORD),
            "first_name": first_name,
            "handle": handle,
            **overrides,
        }
        response = self.post("/v1/auth/register", body)
        assert response.status_code == 201, response.get_json()
        data = response.get_json()
        return Person(
            id=data["user"]["id"],
            email=data["user"]["email"],
            handle=data["user"]["handle"],
            first_name=first_name,
            access_token=data["tokens"]["access_token"],
            refresh_token=data["tokens"]["refresh_token"],
        )

    def register_with_role(self, role: str, first_name: str = "Staff") -> Person:
        """A person whose role an admin would set; set directly through the service."""
        person = self.register(first_name)
        app = self.client.application
        with app.app_context():
            import uuid as _uuid

            from wallet_api.auth import service
            from wallet_api.auth.models import Role
            from wallet_api.extensions import db

            service.set_role(service.get_user(_uuid.UUID(person.id)), Role(role))
            db.session.commit()
        return person

    def admin(self, first_name: str = "Ada") -> Person:
        return self.register_with_role("admin", first_name)


def problem(response: TestResponse, status: int, code: str) -> dict[str, Any]:
    """Assert ``response`` is a problem+json with this status and code; return it."""
    assert response.status_code == status, (response.status_code, response.get_data(True))
    assert response.mimetype == "application/problem+json", response.mimetype
    body = response.get_json(force=True)
    assert body["code"] == code, body
    assert body["status"] == status
    assert body["title"]
    assert body["type"].endswith(code)
    # The id of the request's log lines, for the client to quote (see wallet_api/logs.py).
    assert body["request_id"] == response.headers["X-Request-ID"], body
    return body


def first_limit(spec: str) -> int:
    """How many attempts "10 per minute;100 per hour" lets through before the first 429."""
    return min(item.amount for item in parse_many(spec))
