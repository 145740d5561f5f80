"""Database fixtures: SQLite by default, PostgreSQL when TEST_DATABASE_URL is set.

The schema is built once per run by applying the migrations to an empty database, so every run also
proves the migrations work on that database; each test then starts from a fresh copy of a template:
the empty schema, or the schema with the demo content its fixtures ask for (see `Templates`).
"""

from __future__ import annotations

import contextvars
import os
import re
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import MetaData, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from competency import create_app
from competency.extensions import db
from competency.models import Institution, User
from competency.services import accounts

PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    return (
        os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    )


@pytest.fixture(scope="session")
def app_config(database_url, tmp_path_factory) -> dict:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "INSTANCE_DIR": str(tmp_path_factory.mktemp("instance")),
    }


def drop_everything(engine) -> None:
    meta = MetaData()
    meta.reflect(bind=engine)
    meta.drop_all(bind=engine)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


# ----------------------------------------------------------------------------- template databases
#
# Seeding the demo bank and publishing an assessment (with its simulation) took a third of the suite's
# time when every test did it. Each combination of seeded content is now built once per session into a
# template database, and every test gets its own fresh copy of the template it needs: on SQLite the
# template file is copied over the test's file, on PostgreSQL the test database is re-created with
# CREATE DATABASE … TEMPLATE. (A per-test SAVEPOINT would not do: requests, the answer path and the
# concurrency tests commit on connections of their own.) Between tests the database holds the empty
# migrated schema, as it always did.

# Fixtures that stand for seeded content, in the order the content is built; a test's template is the
# ones among its fixtures (directly or through other fixtures), e.g. ("bank", "job_assessment").
CONTENT = ("bank", "job_assessment", "teacher_assessment")


def _seed_bank() -> None:
    from competency.services.items import seed_demo_bank

    seed_demo_bank(lambda _line: None)
    db.session.commit()


def _seed_job_assessment() -> int:
    """A short job-skill evaluation for 大数据分析员 (J-BD-01), open to students."""
    from competency.services.demo_assessments import _job

    spec = _job("J-BD-01")
    spec["engine"] = {**spec["engine"], "min_items": 4, "max_items": 6}
    spec["grade_rule"] = _shortened_rule(spec, total=4)
    return make_assessment(spec).id


def _seed_teacher_assessment() -> int:
    """The five-dimension teacher assessment, shortened for tests."""
    from competency.services.demo_assessments import _teacher

    spec = _teacher()
    spec["engine"] = {**spec["engine"], "min_items": 6, "max_items": 7, "content_min": {}}
    spec["grade_rule"] = _shortened_rule(spec, total=6)
    return make_assessment(spec).id


SEEDERS = {
    "bank": _seed_bank,
    "job_assessment": _seed_job_assessment,
    "teacher_assessment": _seed_teacher_assessment,
}


class SqliteFiles:
    """Templates as files: a test's database is a copy of one (SQLite keeps a whole database in a file)."""

    def __init__(self, url, workdir):
        self.working = url.database
        self.workdir = workdir

    def _file(self, name: str) -> str:
        return str(self.workdir / f"template-{name}.sqlite3")

    def start(self) -> None:
        pass

    def save(self, name: str) -> None:
        with closing(sqlite3.connect(self.working)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the main file
        shutil.copyfile(self.working, self._file(name))

    def load(self, name: str) -> None:
        """Nobody may be connected: the test's app is made afterwards, the last one was disposed of."""
        # Into a new file renamed over the old one, so a connection somebody leaked keeps the old file.
        shutil.copyfile(self._file(name), f"{self.working}.copying")
        for suffix in ("-wal", "-shm"):
            Path(f"{self.working}{suffix}").unlink(missing_ok=True)
        os.replace(f"{self.working}.copying", self.working)

    def wipe(self) -> None:
        db.session.remove()
        db.engine.dispose()
        self.load(EMPTY)

    def finish(self) -> None:
        pass


class PostgresSchemas:
    """Templates as schemas of the test database, copied into its emptied tables by INSERT … SELECT.

    CREATE DATABASE … TEMPLATE was measured first: 1–6 s per copy on this shared machine (WAL_LOG
    writes every page to the WAL; FILE_COPY and DROP DATABASE wait for a checkpoint), against tens of
    milliseconds to copy the demo's few thousand rows inside the database.
    """

    PREFIX = "tpl_"

    def __init__(self, url):
        self.engine = create_engine(url, poolclass=NullPool)
        self.saved: dict[str, tuple[list[str], list[tuple[str, int]]]] = {}

    def start(self) -> None:
        self._drop_schemas()

    def _drop_schemas(self) -> None:
        with self.engine.begin() as conn:
            names = conn.scalars(
                text("SELECT nspname FROM pg_namespace WHERE nspname LIKE :p"), {"p": f"{self.PREFIX}%"}
            ).all()
            for name in names:
                conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))

    def save(self, name: str) -> None:
        schema = f"{self.PREFIX}{name}"
        with self.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            tables = []
            for table in db.metadata.sorted_tables:  # parents before children
                if conn.scalar(text(f'SELECT EXISTS (SELECT 1 FROM public."{table.name}")')):
                    conn.execute(
                        text(f'CREATE TABLE "{schema}"."{table.name}" AS TABLE public."{table.name}"')
                    )
                    tables.append(table.name)
            sequences = conn.execute(
                text(
                    "SELECT sequencename, last_value FROM pg_sequences "
                    "WHERE schemaname = 'public' AND last_value IS NOT NULL"
                )
            ).all()
        self.saved[name] = (tables, [tuple(row) for row in sequences])

    def load(self, name: str) -> None:
        """The test database is empty (`wipe` ran after the last test): fill it from the template."""
        if name == EMPTY:
            return
        schema = f"{self.PREFIX}{name}"
        tables, sequences = self.saved[name]
        with self.engine.begin() as conn:
            for table in tables:
                conn.execute(text(f'INSERT INTO public."{table}" SELECT * FROM "{schema}"."{table}"'))
            for sequence, value in sequences:
                conn.execute(text("SELECT setval(:s, :v)"), {"s": f'public."{sequence}"', "v": value})

    def wipe(self) -> None:
        """Empty the tables and restart their sequences; the app's engine is disposed of afterwards.

        DELETE, children first, in one statement: TRUNCATE gives every table and index a new file and
        took 1–2 s per test on this shared machine, DELETE of the few rows a test leaves 20–50 ms.
        """
        deletes = " ".join(f'DELETE FROM "{t.name}";' for t in reversed(db.metadata.sorted_tables))
        db.session.execute(
            text(
                f"DO $$ BEGIN {deletes} "
                "PERFORM setval(format('%I.%I', schemaname, sequencename), 1, false) FROM pg_sequences "
                "WHERE schemaname = 'public' AND last_value IS NOT NULL; END $$"
            )
        )
        db.session.commit()

    def finish(self) -> None:
        self._drop_schemas()
        self.engine.dispose()


EMPTY = "empty"


class Templates:
    """The session's templates, each built on first use, and the fresh copy of one each test works on.

    `content` maps a template's key (a tuple of CONTENT names) to what its seeders returned (row ids).
    Between tests the test database holds the empty migrated schema.
    """

    def __init__(self, app_config: dict, workdir):
        self.app_config = app_config
        url = make_url(app_config["SQLALCHEMY_DATABASE_URI"])
        self.store = SqliteFiles(url, workdir) if url.get_backend_name() == "sqlite" else PostgresSchemas(url)
        self.content: dict[tuple[str, ...], dict[str, object]] = {}

    @staticmethod
    def _name(key: tuple[str, ...]) -> str:
        return "_".join(part.removesuffix("_assessment") for part in key) or EMPTY

    def create(self) -> None:
        """Migrate the test database and keep it as the empty template."""
        self.store.start()
        app = create_app(self.app_config)
        with app.app_context():
            drop_everything(db.engine)
            upgrade()
            db.engine.dispose()
        self.store.save(EMPTY)
        self.content[()] = {}

    def _build(self, key: tuple[str, ...]) -> None:
        """Seed the last part of `key` on top of its parent's content, keep it, and empty the database."""
        if key[:-1] not in self.content:
            self._build(key[:-1])
        self.store.load(self._name(key[:-1]))
        app = create_app(self.app_config)
        with app.app_context():
            made = SEEDERS[key[-1]]()
            db.session.remove()
            db.engine.dispose()
            self.store.save(self._name(key))
            self.store.wipe()
            db.session.remove()
            db.engine.dispose()
        self.content[key] = {**self.content[key[:-1]], key[-1]: made}

    def restore(self, key: tuple[str, ...]) -> dict[str, object]:
        """Make the test database a fresh copy of `key`'s template; returns that content's row ids."""
        if key not in self.content:
            self._build(key)
        self.store.load(self._name(key))
        return self.content[key]

    def wipe(self) -> None:
        self.store.wipe()


@pytest.fixture(scope="session")
def _templates(app_config, tmp_path_factory):
    templates = Templates(app_config, tmp_path_factory.mktemp("templates"))
    templates.create()
    yield templates
    templates.store.finish()


def _forget_process_caches() -> None:
    """Every test starts with cold process caches, as a fresh worker would.

    They are keyed by assessment id and publication time, and every copy of a template holds the same
    assessment published at the same time: without this a test could be served a pool or exposure rates
    built from another test's copy.
    """
    from competency.services import caches

    caches.clear()


class IsolatedClient(FlaskClient):
    """Runs each request outside the test's app context, as a real server would.

    Flask reuses an already pushed app context for requests, which would share `g` and the database
    session between the test and every request; a fresh contextvars context prevents that.
    """

    def open(self, *args, **kwargs):
        # Buffered, so a streamed response (exports) is read to the end inside the request's own context.
        kwargs.setdefault("buffered", True)
        response = contextvars.Context().run(super().open, *args, **kwargs)
        db.session.expire_all()  # the test's own session must see what the request committed
        return response


@pytest.fixture
def seeded(request, _templates) -> dict[str, object]:
    """The test database as a fresh copy of the template its content fixtures call for: name → row id."""
    return _templates.restore(tuple(name for name in CONTENT if name in request.fixturenames))


@pytest.fixture
def app(seeded, _templates, app_config):
    _forget_process_caches()
    app = create_app(app_config)
    app.test_client_class = IsolatedClient
    with app.app_context():
        yield app
        db.session.remove()
        _templates.wipe()
        db.session.remove()
        db.engine.dispose()  # each test's app has its own pool; close it rather than leak connections


@pytest.fixture
def client(app):
    return app.test_client()


class StatementCounter:
    """Counts the SQL statements the engine sends while it is active (``with counter: ...``)."""

    def __init__(self, engine):
        self.engine = engine
        self.statements: list[str] = []

    def _seen(self, _conn, _cursor, statement, _params, _context, _executemany):
        self.statements.append(statement)

    def __enter__(self) -> StatementCounter:
        self.statements = []
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(app) -> StatementCounter:
    """``with count_queries as c: client.get(...)``; then ``c.count`` statements were sent."""
    return StatementCounter(db.engine)


@pytest.fixture
def institution(app) -> Institution:
    inst = Institution(
        name="测试职业技术学院", type="higher_vocational", region="广东", industries=["大数据"]
    )
    db.session.add(inst)
    db.session.commit()
    return inst


@pytest.fixture
def other_institution(app) -> Institution:
    inst = Institution(name="另一所技师学院", type="technician_college", region="江苏", industries=[])
    db.session.add(inst)
    db.session.commit()
    return inst


@pytest.fixture
def make_user(app, institution):
    def make(
        role: str, username: str | None = None, inst: Institution | None = institution, **profile
    ) -> User:
        name = username or f"{role}_{db.session.query(User).count() + 1}"
        return accounts.create_user(
            name, PASSWORD, role, institution=None if role == "platform_admin" else inst, **profile
        )

    return make


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_from(client, url: str = "/") -> str:
    html = client.get(url).get_data(as_text=True)
    match = CSRF_RE.search(html)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def login(client, username: str, password: str = PASSWORD):
    token = csrf_from(client, "/login")
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


def api_token(client, username: str, password: str = PASSWORD) -> str:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["token"]


# ----------------------------------------------------------------------------- item bank and assessments


@pytest.fixture
def bank(app):
    """The demo item bank (teacher, student and job items) in the database (copied from its template)."""


def make_assessment(spec: dict, n_simulees: int = 20, **changes):
    from competency.models import Assessment
    from competency.services.publishing import publish

    spec = {**spec, **changes}
    assessment = Assessment(**spec)
    db.session.add(assessment)
    db.session.flush()
    publish(assessment, n_simulees=n_simulees)
    return assessment


def _shortened_rule(spec: dict, total: int) -> dict:
    """A shortened test cannot reach the demo's accuracy minimum; its evidence minimum is its length."""
    return {
        **spec["grade_rule"],
        "min_evidence": {"total": total, "per_dimension": 0},
        "min_accuracy": {"dimensions": 0.0, "overall": 0.0},
    }


@pytest.fixture
def job_assessment(bank, seeded):
    """A short job-skill evaluation for 大数据分析员 (J-BD-01), open to students (_seed_job_assessment)."""
    from competency.models import Assessment

    return db.session.get_one(Assessment, seeded["job_assessment"])


@pytest.fixture
def teacher_assessment(bank, seeded):
    """The five-dimension teacher assessment, shortened for tests (_seed_teacher_assessment)."""
    from competency.models import Assessment

    return db.session.get_one(Assessment, seeded["teacher_assessment"])


def start_attempt(client, token: str, assessment_id: int) -> dict:
    """POST /api/v1/attempts as the token's holder: the attempt with its first item pending."""
    return client.post(
        "/api/v1/attempts",
        json={"assessment_id": assessment_id},
        headers={"Authorization": f"Bearer {token}"},
    ).get_json()


@pytest.fixture
def started(client, make_user, job_assessment):
    """A student's attempt at the job-skill evaluation with its first item pending, and the student's token."""
    make_user("student", "li")
    token = api_token(client, "li")
    return token, start_attempt(client, token, job_assessment.id)


def pending_answer(item: dict, **changes) -> dict:
    """The answer body for a delivered item (a valid answer), with `changes` made to it."""
    return {"position": item["position"], "item_id": item["item_id"], "answer": answer_for(item)} | changes


def post_answer(client, token: str, attempt_id: int, payload: dict):
    return client.post(
        f"/api/v1/attempts/{attempt_id}/responses", json=payload, headers={"Authorization": f"Bearer {token}"}
    )


def answer_for(item: dict, right_first: bool = True):
    """A valid answer of the item's type (not necessarily correct)."""
    keys = [o["key"] for o in item["options"]]
    if item["type"] == "multiple":
        return keys[:2]
    if item["type"] == "sequence":
        return list(reversed(keys))
    if item["type"] == "truefalse":
        return True
    return keys[0]
