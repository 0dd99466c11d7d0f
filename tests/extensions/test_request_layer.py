"""The request and response layer every route shares: how bodies are read, which media type
they must have, what an error's title is, and what a 204 carries."""

from __future__ import annotations

import logging

import pytest

from tests.support.api import ApiClient, Person, problem
from tests.support.blends import compose, make_menu, simple
from tests.support.catalog import add_ingredient
from tests.support.social import befriend


def nested(depth: int) -> str:
    """A JSON object ``depth`` objects deep: ``{"a":{"a":...{"a":1}...}}``."""
    return '{"a":' * depth + "1" + "}" * depth


# --- deeply nested JSON -----------------------------------------------------------------


# (method, path, who, idempotent): a route of each kind that reads a body.
BODY_ROUTES = [
    ("POST", "/v1/auth/login", None, False),
    ("POST", "/v1/auth/register", None, False),
    ("POST", "/v1/auth/device-token", None, False),
    ("POST", "/v1/wallet/top-ups", "customer", True),
    ("POST", "/v1/wallet/transfers", "customer", True),
    ("PATCH", "/v1/me", "customer", False),
    ("POST", "/v1/blends", "customer", False),
]


def _send(api: ApiClient, method: str, path: str, who: str | None, idem: bool, body: str):
    person = api.register("Anna") if who else None
    return api.request(
        method, path, as_=person, idem=idem, data=body, content_type="application/json"
    )


@pytest.mark.parametrize(("method", "path", "who", "idem"), BODY_ROUTES)
def test_deeply_nested_json_is_a_400_and_no_error_is_logged(api, caplog, method, path, who, idem):
    caplog.set_level(logging.INFO)
    response = _send(api, method, path, who, idem, nested(900))  # about 6 KB
    body = problem(response, 400, "json_too_deep")
    assert "32" in body["detail"]
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_json_deeper_than_the_parser_itself_allows_is_a_400(api, caplog):
    # 20,000 arrays in 40 KB: Python's own JSON parser gives up (RecursionError) first.
    response = api.post(
        "/v1/auth/login", data="[" * 20_000 + "]" * 20_000, content_type="application/json"
    )
    problem(response, 400, "json_too_deep")
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_nesting_up_to_32_deep_is_read(api):
    anna = api.register("Anna")
    json = {"as_": anna, "content_type": "application/json"}
    # Read, so the schema speaks: ``a`` is not a field of a person.
    within = api.patch("/v1/me", data=nested(32), **json)
    assert problem(within, 422, "validation_error")["errors"] == {"a": ["Unknown field."]}
    problem(api.patch("/v1/me", data=nested(33), **json), 400, "json_too_deep")


def test_a_body_that_is_not_utf8_is_malformed_json(api):
    anna = api.register("Anna")
    response = api.patch(
        "/v1/me", data=b'{"first_name": "\xff"}', as_=anna, content_type="application/json"
    )
    problem(response, 400, "malformed_json")


# --- the media type of a body -----------------------------------------------------------


def _me(api: ApiClient, person: Person) -> dict:
    return api.get("/v1/me", as_=person).get_json()


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        # A +json type names its own rules (merge-patch, JSON:API envelopes) that we do
        # not follow: refused rather than read as if it were plain JSON.
        "application/merge-patch+json",
        None,
    ],
)
def test_a_body_that_is_not_application_json_is_415(api, content_type):
    anna = api.register("Anna")
    before = _me(api, anna)
    headers = {"Content-Type": content_type} if content_type else {}
    response = api.patch("/v1/me", data='{"first_name": "Changed"}', as_=anna, headers=headers)
    body = problem(response, 415, "unsupported_media_type")
    assert "application/json" in body["detail"]
    assert _me(api, anna) == before


def test_415_on_routes_without_a_token_and_with_an_optional_body(api):
    login = api.post(
        "/v1/auth/login",
        data='{"email": "a@example.com", "password": "x"}',
        content_type="text/plain",
    )
    problem(login, 415, "unsupported_media_type")
    anna = api.register("Anna")
    optional = api.post("/v1/auth/logout", data="{}", content_type="text/plain", as_=anna)
    problem(optional, 415, "unsupported_media_type")
    # The optional body left out, no Content-Type is needed.
    assert api.post("/v1/auth/logout", as_=anna).status_code == 204


def test_application_json_with_a_charset_is_read(api):
    anna = api.register("Anna")
    response = api.patch(
        "/v1/me",
        data='{"first_name": "Annie"}',
        as_=anna,
        content_type="application/json; charset=utf-8",
    )
    assert response.status_code == 200, response.get_json()
    assert _me(api, anna)["first_name"] == "Annie"


def test_routes_without_a_body_ignore_the_media_type(api):
    anna = api.register("Anna")
    response = api.get("/v1/me", as_=anna, data="hello", content_type="text/plain")
    assert response.status_code == 200


def test_the_spec_documents_415_where_a_json_body_is_taken(client):
    spec = client.get("/openapi.json").get_json()
    operations = [
        operation
        for item in spec["paths"].values()
        for method, operation in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]
    with_body = [op for op in operations if "requestBody" in op]
    assert with_body
    assert all(
        op["responses"]["415"]["x-problem-codes"] == ["unsupported_media_type"] for op in with_body
    )
    assert not any("415" in op["responses"] for op in operations if "requestBody" not in op)


# --- one title per problem code -----------------------------------------------------------


def test_validation_error_has_one_title_whoever_raises_it(api):
    anna = api.register("Anna")
    # The schema refuses a field (webargs) ...
    by_schema = problem(api.patch("/v1/me", {"nope": 1}, as_=anna), 422, "validation_error")
    # ... a service refuses a value ...
    by_service = problem(api.get("/v1/blends?cursor=garbage", as_=anna), 422, "validation_error")
    assert by_schema["title"] == by_service["title"] == "The request is not valid"
    # ... and so does the malformed JSON's: one title, whoever finds the body wrong.
    malformed = api.patch("/v1/me", data="{", as_=anna, content_type="application/json")
    assert (
        problem(malformed, 400, "malformed_json")["title"] == "The request body is not valid JSON"
    )


def test_every_problem_code_has_one_title(app):
    from wallet_api.extensions.problems import HTTP_STATUS_CODES, TITLES, ApiError

    titles: dict[str, set[str]] = {}
    pending = [ApiError]
    while pending:
        error = pending.pop()
        titles.setdefault(error.code, set()).add(error.title)
        pending.extend(error.__subclasses__())
    assert {code: found for code, found in titles.items() if len(found) > 1} == {}
    # Errors Flask or Werkzeug raise carry our class's title for their code.
    for code in HTTP_STATUS_CODES.values():
        if code in titles:
            assert {TITLES.get(code)} == titles[code], code


def test_a_routing_404_has_our_title(client):
    from wallet_api.extensions.problems import NotFound

    assert problem(client.get("/v1/nope"), 404, "not_found")["title"] == NotFound.title


# --- 204 ----------------------------------------------------------------------------------


def test_every_204_has_no_body_and_no_content_type(api):
    menu = make_menu(api)
    anna, ben, carl = api.register("Anna"), api.register("Ben"), api.register("Carl")
    befriend(api, anna, ben)
    asked = api.post("/v1/friend-requests", {"handle": anna.handle}, as_=carl).get_json()
    blend = compose(api, anna, simple(menu))
    cocoa = add_ingredient(api, menu.admin, "topping", "Cinnamon dust")
    answers = [
        api.post(f"/v1/friend-requests/{asked['id']}/decline", as_=anna),
        api.delete(f"/v1/friends/{ben.id}", as_=anna),
        api.delete(f"/v1/blends/{blend['id']}", as_=anna),
        api.delete(f"/v1/catalog/ingredients/{cocoa['id']}", as_=menu.admin),
        api.post("/v1/auth/logout", {"refresh_token": anna.refresh_token}, as_=anna),
    ]
    for response in answers:
        assert response.status_code == 204, (response.request.path, response.get_data(True))
        assert "Content-Type" not in response.headers, response.request.path
        assert response.get_data() == b""
