"""The web page of a gift sent by link: its content, languages, states and headers."""

from __future__ import annotations

import re
from datetime import timedelta

from tests.support import gifts as gift_support
from tests.support.gifts import act, claim, drink, given, page_code, redeem, token_of

frozen = gift_support.frozen
scene = gift_support.scene


def _page(api, url, language=None):
    headers = {"Accept-Language": language} if language else {}
    return api.get("/g/" + token_of(url), headers=headers)


def _link_gift(api, scene, **body):
    body.setdefault("email", "carl@example.com")
    body.setdefault("item", drink(scene.flat_white))
    return given(api, scene.anna, **body)


def test_the_page_shows_who_what_and_the_code(api, scene):
    gift = _link_gift(api, scene, message="Happy birthday, Carl!")
    response = _page(api, gift["claim_url"])
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "Anna sent you a Flat White (M)" in html
    assert "Happy birthday, Carl!" in html
    assert "Show this code at the till of any Bean Wallet store" in html
    assert "Valid until 31 May 2026." in html
    assert "Have the Bean Wallet app?" in html
    assert 'name="viewport"' in html
    assert "<script" not in html
    code = page_code(api, gift["claim_url"])
    assert f'<span id="code">{code}</span>' in html
    assert "€" not in html  # the price of a present is not shown


def test_dutch_by_accept_language(api, scene):
    gift = _link_gift(api, scene)
    response = _page(api, gift["claim_url"], "nl-NL,nl;q=0.9,en;q=0.5")
    html = response.get_data(as_text=True)
    assert '<html lang="nl">' in html
    assert "Anna heeft je een Flat White (M) gestuurd" in html
    assert "Laat deze code zien aan de kassa" in html
    assert "Geldig tot 31 mei 2026." in html
    assert response.headers["Content-Language"] == "nl"
    assert "Accept-Language" in response.headers["Vary"]
    # English is the default, and what is asked for when Dutch is not.
    for language in ("fr-FR", "en-GB,en;q=0.9,nl;q=0.2", None):
        assert '<html lang="en">' in _page(api, gift["claim_url"], language).get_data(True)


def test_credit_in_dutch_money(api, scene):
    gift = given(api, scene.anna, phone="+31612345678", amount=1_250)
    html = _page(api, gift["claim_url"], "nl").get_data(as_text=True)
    assert "Anna heeft je € 12,50 tegoed gestuurd" in html
    assert "data:image" not in html
    html = _page(api, gift["claim_url"]).get_data(as_text=True)
    assert "Anna sent you €12.50 of credit" in html


def test_the_message_is_escaped(api, scene):
    gift = _link_gift(api, scene, message='<script>alert("hi")</script><b>bold</b>')
    html = _page(api, gift["claim_url"]).get_data(as_text=True)
    assert "<script>" not in html
    assert "<b>bold</b>" not in html
    assert "&lt;script&gt;alert(&#34;hi&#34;)&lt;/script&gt;" in html


def test_security_headers(api, scene):
    gift = _link_gift(api, scene)
    response = _page(api, gift["claim_url"])
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp
    assert "img-src data:" in csp
    assert "script-src" not in csp  # falls back to default-src 'none': no script at all
    assert "frame-ancestors 'none'" in csp
    nonce = re.search(r"style-src 'nonce-([^']+)'", csp).group(1)
    assert f'<style nonce="{nonce}">' in response.get_data(as_text=True)
    assert _page(api, gift["claim_url"]).headers["Content-Security-Policy"] != csp  # per response
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_an_unknown_link_gets_a_friendly_404_page(api, scene):
    for token in ("A" * 32, "x", "A" * 200):
        response = api.get(f"/g/{token}", headers={"Accept-Language": "nl"})
        assert response.status_code == 404
        assert response.mimetype == "text/html"
        html = response.get_data(as_text=True)
        assert "Cadeau niet gevonden" in html
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert "Gift not found" in api.get("/g/nope").get_data(as_text=True)


def test_the_page_says_what_became_of_the_gift(api, scene, frozen):
    redeemed = _link_gift(api, scene)
    redeem(api, scene.scanner, page_code(api, redeemed["claim_url"]))
    claimed = _link_gift(api, scene)
    claim(api, api.register("Carl"), claimed["claim_url"])
    dora = api.register("Dora", email="dora@example.com")
    declined = _link_gift(api, scene, email="dora@example.com")
    act(api, dora, declined["id"], "decline")
    expiring = _link_gift(api, scene)

    def notice(gift):
        html = _page(api, gift["claim_url"]).get_data(as_text=True)
        assert "data:image" not in html
        return re.search(r'id="notice">([^<]*)<', html).group(1)

    assert notice(redeemed) == "This gift has been enjoyed. We hope it was good!"
    assert notice(claimed) == (
        "This gift was claimed into the Bean Wallet app. Open the app to use it."
    )
    assert notice(declined) == "This gift was returned to Anna."
    frozen.advance(timedelta(days=90))
    assert notice(expiring) == "This gift has expired; it goes back to Anna."


def test_the_page_is_rate_limited(api, app, scene):
    from wallet_api.extensions import limiter

    gift = _link_gift(api, scene)
    limiter.enabled = True
    statuses = [_page(api, gift["claim_url"]).status_code for _ in range(31)]
    assert statuses == [200] * 30 + [429]


def test_the_page_is_not_in_the_api_spec(client):
    spec = client.get("/openapi.json").get_json()
    assert not [path for path in spec["paths"] if path.startswith("/g/")]


def test_claims_are_rate_limited_per_person_and_per_address(api, scene):
    from wallet_api.extensions import limiter

    bogus = "http://x/g/" + "B" * 32
    carl = api.register("Carl")
    others = [api.register(f"P{i}") for i in range(3)]
    limiter.enabled = True
    statuses = [claim(api, carl, bogus).status_code for _ in range(11)]
    assert statuses == [404] * 10 + [429]
    # Others at the same address may still try, until the address has had its share.
    statuses = [claim(api, person, bogus).status_code for person in others for _ in range(7)]
    assert statuses[:19] == [404] * 19
    assert statuses[-1] == 429
