"""Wallet settings from the environment."""

from __future__ import annotations

import pytest

from wallet_api.config import ConfigError, Settings


@pytest.fixture
def env(monkeypatch):
    for name in (
        "PAYMENT_PROVIDER",
        "STRIPE_SECRET_KEY",
        "STRIPE_WEBHOOK_SECRET",
        "STRIPE_TIMEOUT_SECONDS",
    ):
        monkeypatch.delenv(f"WALLET_{name}", raising=False)
    monkeypatch.setenv("WALLET_SECRET_KEY", "x" * 40)
    return monkeypatch


def test_defaults(env, tmp_path):
    settings = Settings.from_env(tmp_path)
    assert settings.payment_provider == "sandbox"
    assert settings.sandbox_decline_amounts == (1313,)
    assert settings.stripe_api_base is None
    assert settings.stripe_timeout_seconds == 5


def test_decline_amounts_and_api_base(env, tmp_path):
    env.setenv("WALLET_SANDBOX_DECLINE_AMOUNTS", "1313, 4242")
    env.setenv("WALLET_STRIPE_API_BASE", "http://127.0.0.1:12111")
    settings = Settings.from_env(tmp_path)
    assert settings.sandbox_decline_amounts == (1313, 4242)
    assert settings.to_flask()["WALLET_STRIPE_API_BASE"] == "http://127.0.0.1:12111"


def test_stripe_timeout(env, tmp_path):
    env.setenv("WALLET_STRIPE_TIMEOUT_SECONDS", "3")
    assert Settings.from_env(tmp_path).to_flask()["WALLET_STRIPE_TIMEOUT_SECONDS"] == 3


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"WALLET_SANDBOX_DECLINE_AMOUNTS": "13,x"}, "comma-separated integers"),
        (
            {"WALLET_STRIPE_TIMEOUT_SECONDS": "0"},
            "WALLET_STRIPE_TIMEOUT_SECONDS must be at least 1",
        ),
        ({"WALLET_PAYMENT_PROVIDER": "paypal"}, "sandbox or stripe"),
        ({"WALLET_PAYMENT_PROVIDER": "stripe"}, "WALLET_STRIPE_SECRET_KEY"),
        (
            {"WALLET_PAYMENT_PROVIDER": "stripe", "WALLET_STRIPE_SECRET_KEY": "sk_test_1"},
            "WALLET_STRIPE_WEBHOOK_SECRET",
        ),
    ],
)
def test_refuses_settings_that_cannot_work(env, tmp_path, variables, message):
    for name, value in variables.items():
        env.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(tmp_path)


def test_stripe_with_both_secrets(env, tmp_path):
    env.setenv("WALLET_PAYMENT_PROVIDER", "stripe")
    env.setenv("WALLET_STRIPE_SECRET_KEY", "sk_test_1")
    env.setenv("WALLET_STRIPE_WEBHOOK_SECRET", "whsec_1")
    assert Settings.from_env(tmp_path).payment_provider == "stripe"
