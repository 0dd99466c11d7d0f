"""``FixedStatement``: the money path's statements sent on the driver's connection.

On PostgreSQL they bypass SQLAlchemy's execution machinery, so these tests hold them to
what ``Session.execute`` does with the same statement: the same rows, the same types
(UTC datetimes, enums, JSON), the same row counts, the same refusals. On SQLite the
statement runs through the session, and what PostgreSQL could not send is refused too.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy import column as sa_column
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import table as sa_table
from sqlalchemy.exc import (
    IntegrityError,
    MultipleResultsFound,
    NoResultFound,
    OperationalError,
    StatementError,
)

from tests.support.api import ApiClient
from wallet_api.auth.models import Role, User
from wallet_api.extensions import db
from wallet_api.extensions.fixed import FixedStatement, as_persistent
from wallet_api.social.models import Notification, NotificationKind

_users = User.__table__
_notifications = Notification.__table__

_USER = select(
    _users.c.id, _users.c.role, _users.c.created_at, _users.c.is_active, _users.c.first_name
).where(_users.c.id == bindparam("user_id"))
_INSERT_NOTIFICATION = insert(_notifications)
_RENAME = (
    update(_users)
    .where(_users.c.id == bindparam("user_id"))
    .values(first_name=bindparam("first_name"))
)


def _notification(user_id: uuid.UUID, title: str, data: dict, at: datetime) -> dict:
    return {
        "id": uuid.uuid4(),
        "user_id": user_id,
        "kind": NotificationKind.GIFT_RECEIVED,
        "title": title,
        "body": "",
        "data": data,
        "created_at": at,
    }


def test_rows_are_what_the_session_reads(app, api: ApiClient) -> None:
    anna = api.register("Anna")
    with app.app_context():
        params = {"user_id": uuid.UUID(anna.id)}
        fixed = FixedStatement(_USER).execute(params).one()
        through_session = db.session.execute(_USER, params).one()
        assert tuple(fixed) == tuple(through_session)
        assert fixed.role is Role.CUSTOMER  # the enum, not its stored string
        assert fixed.created_at.tzinfo is not None
        assert fixed.created_at.utcoffset() == timedelta(0)
        assert fixed.is_active is True
        assert fixed.first_name == "Anna"


def test_no_row_one_or_none_and_scalar(app) -> None:
    with app.app_context():
        result = FixedStatement(_USER).execute({"user_id": uuid.uuid4()})
        assert result.one_or_none() is None
        assert result.scalar() is None
        with pytest.raises(NoResultFound):  # as SQLAlchemy's own result says
            result.one()


def test_inserts_write_what_the_orm_reads_and_executemany(app, api: ApiClient) -> None:
    anna = api.register("Anna")
    at = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
    statement = FixedStatement(_INSERT_NOTIFICATION)
    with app.app_context():
        user_id = uuid.UUID(anna.id)
        one = _notification(user_id, "one", {"amount": 450, "names": ["Flat White"]}, at)
        more = [
            _notification(user_id, "two", {"n": 2}, at + timedelta(minutes=1)),
            _notification(user_id, "three", {}, at + timedelta(minutes=2)),
        ]
        assert statement.execute(one).rowcount == 1
        statement.execute(more)
        db.session.commit()
        rows = db.session.scalars(
            select(Notification)
            .where(Notification.user_id == user_id, Notification.title.in_(["one", "two", "three"]))
            .order_by(Notification.created_at)
        ).all()
        assert [(n.title, n.data, n.kind, n.created_at) for n in rows] == [
            ("one", {"amount": 450, "names": ["Flat White"]}, NotificationKind.GIFT_RECEIVED, at),
            ("two", {"n": 2}, NotificationKind.GIFT_RECEIVED, at + timedelta(minutes=1)),
            ("three", {}, NotificationKind.GIFT_RECEIVED, at + timedelta(minutes=2)),
        ]


def test_update_counts_the_rows_it_changed(app, api: ApiClient) -> None:
    anna = api.register("Anna")
    statement = FixedStatement(_RENAME)
    with app.app_context():
        changed = statement.execute({"user_id": uuid.UUID(anna.id), "first_name": "Annie"})
        missed = statement.execute({"user_id": uuid.uuid4(), "first_name": "Nobody"})
        assert (changed.rowcount, missed.rowcount) == (1, 0)
        db.session.commit()
    assert api.get("/v1/me", headers=anna.headers).get_json()["first_name"] == "Annie"


def test_a_rollback_takes_its_writes_back(app, api: ApiClient) -> None:
    # Same transaction as the session's: the session's rollback undoes the statement.
    anna = api.register("Anna")
    with app.app_context():
        FixedStatement(_RENAME).execute({"user_id": uuid.UUID(anna.id), "first_name": "Gone"})
        db.session.rollback()
    assert api.get("/v1/me", headers=anna.headers).get_json()["first_name"] == "Anna"


def test_a_naive_datetime_is_refused_as_by_the_column_type(app, api: ApiClient) -> None:
    anna = api.register("Anna")
    with app.app_context():
        row = _notification(uuid.UUID(anna.id), "naive", {}, datetime(2026, 5, 1, 9, 30))  # noqa: DTZ001
        # SQLAlchemy wraps the column type's ValueError in a StatementError; psycopg's lane
        # raises it as it is. Either way nothing is written.
        with pytest.raises((ValueError, StatementError), match="naive datetime"):
            FixedStatement(_INSERT_NOTIFICATION).execute(row)
        db.session.rollback()


@pytest.mark.parametrize(
    ("statement", "params", "message"),
    [
        (select(User).where(User.id == bindparam("user_id")), {"user_id": 1}, "ORM"),
        # users.id has a Python-side default (uuid4) that only SQLAlchemy would fill in.
        (insert(_users), {"email": "a@example.org"}, "defaults"),
        (
            select(_users.c.id).where(_users.c.id.in_(bindparam("ids", expanding=True))),
            {"ids": [uuid.uuid4()]},
            "expanding",
        ),
    ],
    ids=["orm-entity", "python-default", "expanding-in"],
)
def test_what_sqlalchemy_would_finish_at_execution_is_refused(
    app, statement, params, message
) -> None:
    # On every database: the SQLite run refuses what PostgreSQL could not send this way.
    with app.app_context(), pytest.raises(TypeError, match=message):
        FixedStatement(statement).execute(params)


_WHOLE_USER = select(_users).where(_users.c.id == bindparam("user_id"))


def test_a_row_becomes_the_sessions_object_without_a_load(app, api: ApiClient) -> None:
    anna = api.register("Anna")
    with app.app_context():
        row = FixedStatement(_WHOLE_USER).execute({"user_id": uuid.UUID(anna.id)}).one()
        user = as_persistent(User, row)
        assert sa_inspect(user).persistent
        assert not db.session.dirty  # its values are as loaded, not changes to write
        assert db.session.get(User, user.id) is user  # the identity map holds it
        user.first_name = "Annie"  # a change is written as for any loaded object
        db.session.commit()
    me = api.get("/v1/me", headers=anna.headers).get_json()
    assert (me["first_name"], me["email"]) == ("Annie", anna.email)


def test_an_object_already_loaded_is_brought_up_to_the_row(app, api: ApiClient) -> None:
    anna = api.register("Anna")
    with app.app_context():
        user_id = uuid.UUID(anna.id)
        loaded = db.session.get(User, user_id)
        assert loaded.first_name == "Anna"
        FixedStatement(_RENAME).execute({"user_id": user_id, "first_name": "Annie"})
        row = FixedStatement(_WHOLE_USER).execute({"user_id": user_id}).one()
        assert as_persistent(User, row) is loaded
        assert loaded.first_name == "Annie"
        assert not db.session.dirty
        db.session.rollback()


def test_a_constraint_refusal_is_sqlalchemys_integrity_error(app, api: ApiClient) -> None:
    # Callers catch SQLAlchemy's classes; the driver's lane raises the same ones.
    anna = api.register("Anna")
    at = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
    row = _notification(uuid.UUID(anna.id), "once", {}, at)
    statement = FixedStatement(_INSERT_NOTIFICATION)
    with app.app_context():
        statement.execute(row)
        with pytest.raises(IntegrityError):
            statement.execute(row)
        db.session.rollback()


def _kill_the_sessions_backend() -> None:
    """Terminate the server process behind the session's connection, as a crash would."""
    pid = db.session.execute(select(func.pg_backend_pid())).scalar_one()
    with db.engine.connect() as other:
        other.execute(select(func.pg_terminate_backend(pid)))


def _first_name_read_fixed(user_id: uuid.UUID) -> str:
    return FixedStatement(_USER).execute({"user_id": user_id}).one().first_name


def _wallet_balance_locked_by_the_ledger(user_id: uuid.UUID) -> int:
    from wallet_api.ledger import service as ledger  # ledger/statements.py: the raw cursor too

    return ledger.lock_wallet(user_id).balance


@pytest.mark.postgres_only
@pytest.mark.parametrize(
    ("operation", "expected"),
    [(_first_name_read_fixed, "Anna"), (_wallet_balance_locked_by_the_ledger, 0)],
    ids=["fixed-statement", "ledger-statement"],
)
def test_a_dropped_connection_is_invalidated_and_the_rollback_succeeds(
    app, api, operation, expected
) -> None:
    anna = api.register("Anna")
    with app.app_context():
        _kill_the_sessions_backend()
        with pytest.raises(OperationalError) as raised:  # SQLAlchemy's, not the driver's
            operation(uuid.UUID(anna.id))
        assert raised.value.connection_invalidated
        db.session.rollback()  # SQLAlchemy knows the connection died: nothing to raise
        assert operation(uuid.UUID(anna.id)) == expected  # a live connection from the pool


@pytest.mark.postgres_only
def test_the_driver_raising_unwrapped_still_gives_503_not_500(app, api) -> None:
    # A raw use of the driver that does not wrap its errors (the ledger's statements did
    # not, once) leaves the session unaware its connection died, so the rollback fails; the
    # handler then drops the session's connections instead. It once called a method
    # scoped_session does not have, and the crashed-database fault injection answered 500.
    from wallet_api import database_unavailable

    anna = api.register("Anna")
    with app.test_request_context():
        _kill_the_sessions_backend()
        raw = db.session.connection().connection.driver_connection
        with pytest.raises(psycopg.OperationalError) as raised:
            raw.execute("SELECT 1")
        response = database_unavailable(raised.value)
        assert response.status_code == 503
        assert response.get_json()["code"] == "database_unavailable"
        row = FixedStatement(_USER).execute({"user_id": uuid.UUID(anna.id)}).one()
        assert row.first_name == "Anna"


def test_two_rows_where_one_was_required_is_sqlalchemys_error(app, api: ApiClient) -> None:
    api.register("Anna")
    api.register("Anna")  # another Anna
    by_name = FixedStatement(select(_users.c.id).where(_users.c.first_name == bindparam("n")))
    with app.app_context():
        result = by_name.execute({"n": "Anna"})
        assert len(result.all()) == 2
        with pytest.raises(MultipleResultsFound):
            result.one()
        with pytest.raises(MultipleResultsFound):
            result.one_or_none()


def test_a_statement_in_a_savepoint_is_rolled_back_with_it(app, api: ApiClient) -> None:
    # The session emits SAVEPOINT when its connection is next asked for; a fixed statement
    # sent first in a savepoint must not run before it (on the connection remembered from
    # before) and outlive the savepoint's rollback.
    anna = api.register("Anna")
    rename = FixedStatement(_RENAME)
    with app.app_context():
        user_id = uuid.UUID(anna.id)
        assert FixedStatement(_USER).execute({"user_id": user_id}).one().first_name == "Anna"
        savepoint = db.session.begin_nested()
        rename.execute({"user_id": user_id, "first_name": "Annie"})
        savepoint.rollback()
        assert FixedStatement(_USER).execute({"user_id": user_id}).one().first_name == "Anna"
        with db.session.begin_nested():
            rename.execute({"user_id": user_id, "first_name": "Ann"})
        db.session.commit()
        assert db.session.get(User, user_id).first_name == "Ann"


def _kill_every_pooled_connection() -> int:
    """Terminate the server processes behind every connection of this database but the
    killer's own, as a database restart would; how many there were."""
    with db.engine.connect() as killer:
        killed = killer.execute(
            select(func.count(func.pg_terminate_backend(_activity.c.pid))).where(
                _activity.c.datname == func.current_database(),
                _activity.c.pid != func.pg_backend_pid(),
            )
        ).scalar_one()
    return int(killed)


_activity = sa_table("pg_stat_activity", sa_column("pid"), sa_column("datname"))


@pytest.mark.postgres_only
@pytest.mark.parametrize("first", ["device", "user"], ids=["fixed-statement-first", "orm-first"])
def test_after_the_database_killed_every_connection_one_request_answers_503_then_all_recover(
    app, api, first
) -> None:
    # No pool pre-ping (config._engine_options): the request that meets a dead connection
    # answers 503 database_unavailable, to be retried with its Idempotency-Key, and
    # invalidates every connection the pool made before, so the requests after it all work.
    from tests.support.stores import counter_scene

    scene = counter_scene(api, funds=0)
    scan = {"code": "P" + "A" * 24}

    def ask() -> int:
        if first == "device":  # the till's first statement is a fixed one (its device)
            return api.post("/v1/scans", scan, as_=scene.scanner.token).status_code
        return api.get("/v1/wallet", as_=scene.anna).status_code  # an ORM load first

    in_use = [ask() for _ in range(3)]
    # Several pooled connections, as a busy worker has: checked out at once, then returned.
    with app.app_context():
        held = [db.engine.connect() for _ in range(3)]
        for connection in held:
            connection.execute(select(1))
        for connection in held:
            connection.close()
        assert _kill_every_pooled_connection() >= 2  # the killer took one of the three
    answers = [ask() for _ in range(5)]
    assert answers == [503] + in_use[:1] * 4, answers
