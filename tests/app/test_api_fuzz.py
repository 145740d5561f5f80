"""Issue 17: a property-based fuzz of every JSON API route that takes a body (built from the URL map).

Malformed bodies — not JSON, not UTF-8, not an object, nested too deep, or an object whose known fields
hold wrong types, out-of-range numbers, control characters or odd structures — must get a 4xx with an
error object, never a 500, and change no stored data.
"""

from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from competency.extensions import db
from competency.models import Cohort
from tests.app.conftest import PASSWORD, api_token, start_attempt
from tests.app.outcomes_factory import outcome_params

# Bookkeeping that a refused request may legitimately write (failed-login counts and records).
BOOKKEEPING = {"rate_counter", "login_attempt", "certificate_lookup_miss", "audit_event"}
INT64 = 2**63

# The known fields of each body-taking route and their kinds; a new route must be added here.
FIELDS = {
    "api.issue_token": {"username": "str", "password": "str"},
    "api.start_attempt": {"assessment_id": "int"},
    "api.post_response": {"position": "int", "item_id": "str", "answer": "answer"},
    "api.create_plan": {"attempt_id": "int"},
    "api.mark_task": {"done": "bool"},
}
BODYLESS = {"api.revoke_token"}  # DELETE without a body: revoking is its whole meaning

json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=20),
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
control_text = st.builds(
    lambda a, c, b: a + c + b,
    st.text(max_size=5),
    st.sampled_from(["\x00", "\x01", "\x1b", "\x7f", "\x85"]),
    st.text(max_size=5),
)
huge_int = st.one_of(st.integers(min_value=INT64), st.integers(max_value=-INT64 - 1))
WRONG = {
    "int": st.one_of(
        st.text(max_size=10),
        st.floats(allow_nan=False),
        st.booleans(),
        st.lists(json_leaf, max_size=3),
        st.dictionaries(st.text(max_size=5), json_leaf, max_size=3),
        huge_int,
        st.none(),
    ),
    "str": st.one_of(
        st.integers(),
        st.floats(allow_nan=False),
        st.booleans(),
        st.lists(json_leaf, max_size=3),
        st.dictionaries(st.text(max_size=5), json_leaf, max_size=3),
        control_text,
        st.none(),
    ),
    "bool": st.one_of(
        st.integers(),
        st.text(max_size=10),
        st.lists(json_leaf, max_size=3),
        st.dictionaries(st.text(max_size=5), json_leaf, max_size=3),
        st.none(),
        huge_int,
    ),
    "answer": st.one_of(
        st.dictionaries(st.text(max_size=5), json_leaf, min_size=1, max_size=3),
        st.lists(st.lists(json_leaf, min_size=1, max_size=2), min_size=1, max_size=3),
        huge_int,
        control_text,
        st.floats(allow_nan=False),
    ),
}


def _raw_bodies():
    deep = st.integers(min_value=20, max_value=5000).map(lambda n: ("[" * n + "]" * n).encode())
    not_object = json_value.filter(lambda v: not isinstance(v, dict)).map(lambda v: json.dumps(v).encode())
    garbage = st.binary(max_size=64)
    bad_utf8 = st.binary(min_size=1, max_size=16).map(lambda b: b'{"x": "' + b"\xff\xfe" + b + b'"}')
    return st.one_of(deep, not_object, garbage, bad_utf8)


def _mutated(base: dict, kinds: dict):
    """The valid body with at least one known field made wrong, and arbitrary extra fields."""

    def build(wrong_fields, wrong_values, extra):
        body = {**extra, **base}
        for name, value in zip(wrong_fields, wrong_values, strict=False):
            body[name] = value
        return json.dumps(body).encode()

    return st.lists(st.sampled_from(sorted(kinds)), min_size=1, max_size=len(kinds), unique=True).flatmap(
        lambda names: st.builds(
            build,
            st.just(names),
            st.tuples(*(WRONG[kinds[n]] for n in names)),
            st.dictionaries(st.text(max_size=6).filter(lambda k: k not in kinds), json_leaf, max_size=2),
        )
    )


def _snapshot() -> str:
    digest = hashlib.sha256()
    for table in db.metadata.sorted_tables:
        if table.name in BOOKKEEPING:
            continue
        rows = db.session.execute(select(table)).all()
        digest.update(table.name.encode())
        digest.update(repr(sorted(repr(tuple(r)) for r in rows)).encode())
    db.session.rollback()
    return digest.hexdigest()


@pytest.fixture
def fuzz_world(app, client, make_user, institution, job_assessment):
    people = {role: make_user(role, f"f_{role}") for role in ("trainer", "teacher")}
    cohort = Cohort(name="模糊测试班", institution_id=institution.id, owner_id=people["trainer"].id)
    db.session.add(cohort)
    db.session.commit()
    params = outcome_params(people, cohort)
    make_user("student", "f_student")
    student = api_token(client, "f_student")
    teacher = api_token(client, "f_teacher")
    attempt = start_attempt(client, student, job_assessment.id)
    item = attempt["item"]
    routes = {
        "api.issue_token": ({}, {"username": "f_student", "password": PASSWORD}, None),
        "api.start_attempt": ({}, {"assessment_id": job_assessment.id}, student),
        "api.post_response": (
            {"attempt_id": attempt["id"]},
            {"position": item["position"], "item_id": item["item_id"], "answer": item["options"][0]["key"]},
            student,
        ),
        "api.create_plan": ({}, {"attempt_id": params["attempt_id"]}, teacher),
        "api.mark_task": (
            {"plan_id": params["plan_id"], "task_id": params["task_id"]},
            {"done": True},
            teacher,
        ),
    }
    return routes


def test_every_body_route_is_fuzzed(app):
    """The list above follows the URL map: a new JSON route with a body must be added to the fuzz."""
    taking_bodies = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/") and rule.methods & {"POST", "PUT", "PATCH", "DELETE"}
    }
    assert taking_bodies - BODYLESS == set(FIELDS)


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(data=st.data())
def test_malformed_bodies_get_4xx_and_change_nothing(app, fuzz_world, data):
    endpoint = data.draw(st.sampled_from(sorted(FIELDS)), label="route")
    url_params, base, token = fuzz_world[endpoint]
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    url = rule.rule
    for name, value in url_params.items():
        url = url.replace(f"<int:{name}>", str(value))
    body = data.draw(st.one_of(_raw_bodies(), _mutated(base, FIELDS[endpoint])), label="body")
    content_type = data.draw(
        st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain"])
    )
    before = _snapshot()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    method = sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
    response = app.test_client().open(
        url, method=method, data=body, content_type=content_type, headers=headers
    )
    assert response.status_code < 500, (endpoint, body[:200], response.get_data(as_text=True)[:300])
    assert 400 <= response.status_code < 500, (endpoint, body[:200], response.status_code)
    error = response.get_json(silent=True)
    assert error and set(error["error"]) >= {"code", "message"}
    assert _snapshot() == before, (endpoint, body[:200])
