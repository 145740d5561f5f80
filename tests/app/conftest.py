"""Database fixtures: SQLite by default, PostgreSQL when TEST_DATABASE_URL is set.

The schema is built once per run by applying the migrations to an empty database, so every run also
proves the migrations work on that database; each test then starts from empty tables.
"""

from __future__ import annotations

import contextvars
import os
import re

import pytest
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import MetaData, event, text

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


@pytest.fixture(scope="session")
def _schema(app_config):
    app = create_app(app_config)
    with app.app_context():
        drop_everything(db.engine)
        upgrade()
        db.engine.dispose()
    yield


def _wipe() -> None:
    tables = [t.name for t in db.metadata.sorted_tables]
    if db.engine.dialect.name == "postgresql":
        quoted = ", ".join(f'"{name}"' for name in tables)
        db.session.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
    else:
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
    db.session.commit()


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
def app(_schema, app_config):
    app = create_app(app_config)
    app.test_client_class = IsolatedClient
    with app.app_context():
        yield app
        db.session.remove()
        _wipe()
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
    """The demo item bank (teacher, student and job items) in the database."""
    from competency.services.items import seed_demo_bank

    seed_demo_bank(lambda _line: None)
    db.session.commit()


def make_assessment(spec: dict, n_simulees: int = 20, **changes):
    from competency.models import Assessment
    from competency.services.publishing import publish

    spec = {**spec, **changes}
    assessment = Assessment(**spec)
    db.session.add(assessment)
    db.session.flush()
    publish(assessment, n_simulees=n_simulees)
    return assessment


@pytest.fixture
def job_assessment(bank):
    """A short job-skill evaluation for 大数据分析员 (J-BD-01), open to students."""
    from competency.services.demo_assessments import _job

    spec = _job("J-BD-01")
    spec["engine"] = {**spec["engine"], "min_items": 4, "max_items": 6}
    spec["grade_rule"] = _shortened_rule(spec, total=4)
    return make_assessment(spec)


def _shortened_rule(spec: dict, total: int) -> dict:
    """A shortened test cannot reach the demo's accuracy minimum; its evidence minimum is its length."""
    return {
        **spec["grade_rule"],
        "min_evidence": {"total": total, "per_dimension": 0},
        "min_accuracy": {"dimensions": 0.0, "overall": 0.0},
    }


@pytest.fixture
def teacher_assessment(bank):
    """The five-dimension teacher assessment, shortened for tests."""
    from competency.services.demo_assessments import _teacher

    spec = _teacher()
    spec["engine"] = {**spec["engine"], "min_items": 6, "max_items": 7, "content_min": {}}
    spec["grade_rule"] = _shortened_rule(spec, total=6)
    return make_assessment(spec)


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
