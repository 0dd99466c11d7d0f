"""The gift page in a real browser: headless Chromium (Debian's package) driven by Playwright.

The app runs in a real HTTP server on a thread, against the test database; a gift is
given through the API; the browser opens its link, reads who sent what, and the QR image
it rendered decodes to the gift's code. Skipped only on a developer machine without
/usr/bin/chromium; in CI (``CI`` set) a missing browser fails the test.
"""

from __future__ import annotations

import base64
from urllib.parse import urlsplit

from tests.support import browser as browser_support
from tests.support import gifts as gift_support
from tests.support.gifts import decode_qr, drink, gift_code, given, token_of

pytestmark = browser_support.needs_chromium

scene = gift_support.scene
frozen = gift_support.frozen
server = browser_support.server
browser = browser_support.browser


def _open(browser, url: str, locale: str):  # type: ignore[no-untyped-def]
    context = browser.new_context(
        locale=locale, viewport={"width": 390, "height": 844}, device_scale_factor=2
    )
    page = context.new_page()
    response = page.goto(url)
    assert response is not None
    return context, page, response


def test_the_gift_page_in_chromium(api, app, scene, server, browser):
    gift = given(
        api,
        scene.anna,
        email="carl@example.com",
        item=drink(scene.flat_white, "M"),
        message="Coffee on me, Carl!",
    )
    path = urlsplit(gift["claim_url"]).path
    assert path == "/g/" + token_of(gift["claim_url"])

    context, page, response = _open(browser, server + path, "en-GB")
    try:
        assert response.status == 200
        assert response.headers["referrer-policy"] == "no-referrer"
        assert page.locator("html").get_attribute("lang") == "en"
        assert page.locator("#headline").inner_text() == "Anna sent you a Flat White (M)"
        assert page.locator("#message").inner_text() == "Coffee on me, Carl!"
        assert "any Bean Wallet store" in page.locator("#how").inner_text()
        qr = page.locator("img#qr")
        assert qr.is_visible()
        code = page.locator("#code").inner_text()
        # What the browser drew, as a phone camera at the till would see it.
        assert decode_qr(qr.screenshot()) == code
        source = qr.get_attribute("src")
        assert source is not None
        assert source.startswith("data:image/png;base64,")
        assert decode_qr(base64.b64decode(source.split(",", 1)[1])) == code
    finally:
        context.close()

    # The page's code is the gift's code: claimed into an app, the same gift gets a new one.
    carl = api.register("Carl")
    claimed = api.post(f"/v1/gift-claims/{token_of(gift['claim_url'])}", as_=carl, idem=True)
    assert claimed.status_code == 200, claimed.get_json()
    assert gift_code(api, carl, gift["id"]) != code


def test_the_gift_page_in_dutch_in_chromium(api, scene, server, browser):
    gift = given(
        api, scene.anna, phone="+31612345678", item=drink(scene.flat_white, "L"), message="Proost!"
    )
    context, page, response = _open(browser, server + urlsplit(gift["claim_url"]).path, "nl-NL")
    try:
        assert response.status == 200
        assert page.locator("html").get_attribute("lang") == "nl"
        assert page.locator("#headline").inner_text() == "Anna heeft je een Flat White (L) gestuurd"
        assert page.locator("#message").inner_text() == "Proost!"
        assert "Bean Wallet-winkel" in page.locator("#how").inner_text()
        code = page.locator("#code").inner_text()
        assert decode_qr(page.locator("img#qr").screenshot()) == code
    finally:
        context.close()


def test_an_unknown_link_in_chromium(server, browser):
    context, page, response = _open(browser, server + "/g/" + "A" * 32, "en-US")
    try:
        assert response.status == 404
        assert page.locator("h1").inner_text() == "Gift not found"
    finally:
        context.close()
