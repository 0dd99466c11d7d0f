"""The baseline: a bare Flask JSON endpoint, served by the same gunicorn settings."""

from flask import Flask, jsonify

app = Flask(__name__)


@app.post("/bare")
def bare():
    return jsonify({"ok": True, "amount": 350, "currency": "EUR"}), 201


@app.get("/health")
def health():
    return jsonify({"status": "ok"})
