"""The audit log: who did what to whom, for staff and admin actions that move money."""


def register(api):  # type: ignore[no-untyped-def]
    # No routes yet; importing the model puts ``audit_events`` in the schema.
    from wallet_api.audit import models  # noqa: F401  (registers the table)
