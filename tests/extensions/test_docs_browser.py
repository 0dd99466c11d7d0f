"""``/docs`` in a real browser with the network off: Swagger UI, served by the app itself,
shows every operation of the spec and asks nothing of any other host."""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.support import browser as browser_support

pytestmark = browser_support.needs_chromium

server = browser_support.server
browser = browser_support.browser

METHODS = ("get", "post", "put", "patch", "delete")


def test_the_docs_show_every_operation_offline(client, server, browser):
    spec = client.get("/openapi.json").get_json()
    operations = [
        operation
        for item in spec["paths"].values()
        for method, operation in item.items()
        if method in METHODS
    ]
    here = urlsplit(server).netloc
    elsewhere: list[str] = []

    def offline(route):  # type: ignore[no-untyped-def]
        url = route.request.url
        if urlsplit(url).netloc == here:
            route.continue_()
        else:  # as a machine without internet would: no answer
            elsewhere.append(url)
            route.abort("internetdisconnected")

    context = browser.new_context()
    context.route("**/*", offline)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    try:
        response = page.goto(server + "/docs")
        assert response is not None
        assert response.status == 200
        page.locator(".opblock").first.wait_for()
        assert page.locator(".opblock").count() == len(operations)
        summaries = page.locator(".opblock-summary-description").all_inner_texts()
        assert "Compose a blend; the server checks it against the menu and prices it" in summaries
        assert "Sign in with email and password" in summaries
        # The page is ours only: its policy holds, and it held nothing back from the page.
        policy = response.headers["content-security-policy"]
        assert "default-src 'self'" in policy
        assert "script-src 'self' 'nonce-" in policy
        assert [text for text in problems if "Content Security Policy" in text] == []
    finally:
        context.close()
    assert elsewhere == []
