"""How request bodies are read as JSON: one parser, for Flask's ``get_json`` and webargs alike.

A few kilobytes can nest objects a thousand deep. Python's parser, marshmallow and every
recursive walk after them would exceed the interpreter's recursion limit on such a body,
and the request would end in a 500 with a traceback; here it is a 400 before any of them.
"""

from __future__ import annotations

from typing import Any

from flask.json.provider import DefaultJSONProvider

from wallet_api.extensions.problems import JsonTooDeep

# Our deepest body is a blend: an object, a list of beans, a bean. Room to spare, and far
# below the recursion limit of everything that walks a body after it is parsed.
MAX_DEPTH = 32


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether ``value`` nests objects and arrays more than ``limit`` deep (iteratively)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _brackets(text: str | bytes) -> int:
    if isinstance(text, str):
        return text.count("{") + text.count("[")
    return text.count(b"{") + text.count(b"[")


class JSONProvider(DefaultJSONProvider):
    """Flask's provider, refusing JSON nested deeper than ``MAX_DEPTH``.

    It raises :class:`JsonTooDeep`, a 400, and not a ``ValueError``: ``get_json(silent=True)``
    (the login limit's key, the idempotency fingerprint) would take a ValueError for "no
    JSON" and go on to read the body again elsewhere.
    """

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            value = super().loads(s, **kwargs)
        except RecursionError:  # deeper than the C parser's own limit
            raise JsonTooDeep(_TOO_DEEP) from None
        # A body cannot nest deeper than its count of brackets: most are never walked.
        if _brackets(s) > MAX_DEPTH and _deeper_than(value, MAX_DEPTH):
            raise JsonTooDeep(_TOO_DEEP)
        return value


_TOO_DEEP = f"Objects and arrays may be nested at most {MAX_DEPTH} deep."
