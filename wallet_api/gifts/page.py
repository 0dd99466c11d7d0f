"""``GET /g/{token}``: the web page of a gift sent by link, for people without the app.

Server-rendered HTML (Jinja, autoescaped), in English or Dutch by ``Accept-Language``,
with everything inline: the QR code is a ``data:`` PNG and the styles carry a per-response
nonce, so the Content-Security-Policy allows no script and nothing from elsewhere. The
token is in the URL, so the page sends no referrer and is never cached. Not part of the
JSON API or its OpenAPI spec.
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, render_template, request

from wallet_api.extensions import limiter
from wallet_api.gifts import service
from wallet_api.gifts.models import Gift, GiftKind
from wallet_api.paycodes.service import render_qr

page = Blueprint("gift_page", __name__, template_folder="templates")

PAGE_LIMIT = "30 per minute;300 per hour"  # per client address
LANGUAGES = ("en", "nl")

TEXT: dict[str, dict[str, Any]] = {
    "en": {
        "title": "A gift for you",
        "sent_drink": "{name} sent you a {drink}",
        "sent_credit": "{name} sent you {amount} of credit",
        "qr_alt": "QR code to redeem your gift",
        "how": "Show this code at the till of any Bean Wallet store. It works once.",
        "code": "Code",
        "valid_until": "Valid until {date}.",
        "claim_credit": "To use it, add it to your wallet in the Bean Wallet app.",
        "app_title": "Have the Bean Wallet app?",
        "app": "Open this link on your phone with the app installed, or in the app go to "
        "Gifts and choose Claim a gift. The gift then lives in your account.",
        "claimed": "This gift was claimed into the Bean Wallet app. Open the app to use it.",
        "redeemed": "This gift has been enjoyed. We hope it was good!",
        "accepted": "This gift is already in a Bean Wallet.",
        "declined": "This gift was returned to {name}.",
        "expired": "This gift has expired; it goes back to {name}.",
        "missing_title": "Gift not found",
        "missing": "We cannot find this gift. Check that the link is complete, or ask the "
        "person who sent it to share it again.",
        "months": [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ],
    },
    "nl": {
        "title": "Een cadeautje voor jou",
        "sent_drink": "{name} heeft je een {drink} gestuurd",
        "sent_credit": "{name} heeft je {amount} tegoed gestuurd",
        "qr_alt": "QR-code om je cadeau in te wisselen",
        "how": "Laat deze code zien aan de kassa van een Bean Wallet-winkel. Hij werkt één keer.",
        "code": "Code",
        "valid_until": "Geldig tot {date}.",
        "claim_credit": "Zet het in je wallet met de Bean Wallet-app om het te gebruiken.",
        "app_title": "Heb je de Bean Wallet-app?",
        "app": "Open deze link op je telefoon met de app, of kies in de app bij Cadeaus "
        "voor Cadeau ophalen. Het cadeau staat dan in je account.",
        "claimed": "Dit cadeau is opgehaald in de Bean Wallet-app. Open de app om het te "
        "gebruiken.",
        "redeemed": "Dit cadeau is al ingewisseld. Hopelijk was het lekker!",
        "accepted": "Dit cadeau staat al in een Bean Wallet.",
        "declined": "Dit cadeau is teruggegaan naar {name}.",
        "expired": "Dit cadeau is verlopen en gaat terug naar {name}.",
        "missing_title": "Cadeau niet gevonden",
        "missing": "We kunnen dit cadeau niet vinden. Controleer of de link volledig is, "
        "of vraag de afzender hem opnieuw te delen.",
        "months": [
            "januari",
            "februari",
            "maart",
            "april",
            "mei",
            "juni",
            "juli",
            "augustus",
            "september",
            "oktober",
            "november",
            "december",
        ],
    },
}


def _money(cents: int, currency: str, lang: str) -> str:
    symbol = "€" if currency == "EUR" else currency + " "
    whole, part = divmod(cents, 100)
    return f"{symbol} {whole},{part:02d}" if lang == "nl" else f"{symbol}{whole}.{part:02d}"


def _date(moment: datetime, lang: str) -> str:
    return f"{moment.day} {TEXT[lang]['months'][moment.month - 1]} {moment.year}"


def _context(gift: Gift, lang: str) -> dict[str, Any]:
    text = TEXT[lang]
    name = gift.giver.first_name
    state = service.page_state(gift)
    if gift.kind is GiftKind.ITEM:
        drink = f"{service.drink_name(gift)} ({gift.item['size']})" if gift.item else ""
        headline = text["sent_drink"].format(name=name, drink=drink)
    else:
        amount = _money(gift.amount, gift.currency, lang)
        headline = text["sent_credit"].format(name=name, amount=amount)
    context: dict[str, Any] = {
        "state": state,
        "headline": headline,
        "message": gift.message,
        "notice": text[state].format(name=name) if state in text else "",
        "valid_until": text["valid_until"].format(date=_date(gift.expires_at, lang)),
    }
    if state == "redeem":
        code = service.gift_code(gift)
        png, _ = render_qr(code, "png")
        context["code"] = code
        context["qr"] = "data:image/png;base64," + base64.b64encode(png).decode()
    return context


def _secure(response: Response, nonce: str, lang: str) -> Response:
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; img-src data:; "
        f"style-src 'nonce-{nonce}'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    )
    # The token in the URL is the gift: it must not leak to other sites or into caches.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Language"] = lang
    response.headers["Vary"] = "Accept-Language"
    return response


@page.get("/g/<token>")
@limiter.limit(PAGE_LIMIT)
def gift_page(token: str) -> Response:
    lang = request.accept_languages.best_match(LANGUAGES, default="en") or "en"
    nonce = secrets.token_urlsafe(16)
    gift = service.gift_by_token(token)
    if gift is None:
        html = render_template("gift_missing.html", lang=lang, t=TEXT[lang], nonce=nonce)
        status = 404
    else:
        context = _context(gift, lang)
        html = render_template("gift_page.html", lang=lang, t=TEXT[lang], nonce=nonce, **context)
        status = 200
    response = Response(html, status=status, mimetype="text/html")
    return _secure(response, nonce, lang)
