"""WSGI entry point: ``gunicorn wsgi:app``."""

from wallet_api import create_app

app = create_app()
