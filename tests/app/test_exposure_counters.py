"""Running exposure counters: each refresh adds only what was stored since the last one, a repeated
refresh adds nothing, rows still settling wait for the next refresh, and the rates equal a full recount."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from competency.extensions import db
from competency.models import Attempt, ExposureTally, Response, utcnow
from competency.services import exposure
from tests.app.outcomes_factory import make_assessment, make_attempt


def _recount(assessment_id: int) -> dict[str, float]:
    started = db.session.scalar(
        select(func.count()).select_from(Attempt).where(Attempt.assessment_id == assessment_id)
    )
    rows = db.session.execute(
        select(Response.item_code, func.count())
        .join(Attempt, Attempt.id == Response.attempt_id)
        .where(Attempt.assessment_id == assessment_id)
        .group_by(Response.item_code)
    )
    return {code: n / started for code, n in rows}


def _refresh(assessment_id: int) -> dict[str, float]:
    connection = db.session.connection()
    assert exposure.refresh(connection, assessment_id)
    rates = exposure.rates(connection, assessment_id)
    db.session.commit()
    return rates


def _age(seconds: int) -> None:
    """Make every stored row older, as if time had passed."""
    db.session.execute(Response.__table__.update().values(answered_at=utcnow() - timedelta(seconds=seconds)))
    db.session.execute(Attempt.__table__.update().values(started_at=utcnow() - timedelta(seconds=seconds)))
    db.session.commit()


def test_counters_follow_new_rows_only(app, make_user):
    assessment, other = make_assessment("EXPO-A"), make_assessment("EXPO-B")
    people = [make_user("teacher", f"t{i}") for i in range(4)]
    for person in people[:3]:
        make_attempt(person, assessment, {"T1": "L2"}, responses=3)
    make_attempt(people[3], other, {"T1": "L2"}, responses=5)  # another assessment's rows do not count
    assert _refresh(assessment.id) == {}  # nothing has settled yet
    _age(60)
    first = _refresh(assessment.id)
    assert first == _recount(assessment.id) and first["T-1.1.1-01"] == 1.0
    assert _refresh(assessment.id) == first  # counted once, however often refreshed
    make_attempt(people[3], assessment, {"T1": "L2"}, responses=1)
    _age(60)
    second = _refresh(assessment.id)
    assert second == _recount(assessment.id)
    assert second["T-1.1.1-01"] == 1.0 and second["T-1.1.1-03"] == 0.75
    tally = db.session.get(ExposureTally, assessment.id)
    assert tally.attempts == 4


def test_a_refresh_that_lost_the_race_adds_nothing(app, make_user):
    assessment = make_assessment("EXPO-C")
    make_attempt(make_user("teacher", "wang"), assessment, {"T1": "L2"}, responses=2)
    _age(60)
    _refresh(assessment.id)
    tally = db.session.get(ExposureTally, assessment.id)
    marks = (tally.response_mark, tally.attempt_mark)
    # Another worker moved the marks on after this one read them: the compare-and-set fails.
    make_attempt(make_user("teacher", "li"), assessment, {"T1": "L2"}, responses=2)
    _age(60)
    original = exposure.update

    def racing_update(table):
        statement = original(table)
        if table is ExposureTally.__table__:
            db.session.execute(ExposureTally.__table__.update().values(response_mark=marks[0] + 10**6))
        return statement

    exposure.update = racing_update
    try:
        assert exposure.refresh(db.session.connection(), assessment.id) is False
    finally:
        exposure.update = original
    db.session.rollback()
    assert _refresh(assessment.id) == _recount(assessment.id)
