"""Audit events are written at once, in the caller's transaction: kept with its commit, gone with its rollback."""

from __future__ import annotations

from sqlalchemy import select

from competency.extensions import db
from competency.models import AuditEvent, utcnow
from competency.services import audit


def test_an_event_is_kept_with_the_callers_commit(app, make_user):
    actor = make_user("trainer", "wang")
    before = utcnow()
    audit.record("cohort.assign", "cohort", 7, actor=actor, detail={"layer": "基础", "n": 3}, ip="10.0.0.1")
    db.session.commit()
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "cohort.assign")).one()
    assert (event.action, event.target_type, event.target_id) == ("cohort.assign", "cohort", "7")
    assert event.actor_id == actor.id and event.ip == "10.0.0.1"
    assert event.detail == {"layer": "基础", "n": 3}
    assert before <= event.at <= utcnow() and event.at.utcoffset() is not None


def test_an_event_goes_with_the_callers_rollback(app):
    audit.record("attempt.start", "attempt", 1)
    db.session.rollback()
    assert db.session.scalars(select(AuditEvent)).all() == []
    audit.record("attempt.start", "attempt", None)
    db.session.commit()
    event = db.session.scalars(select(AuditEvent)).one()
    assert event.target_id is None and event.actor_id is None and event.detail == {}
