"""Publishing: the definition is checked, the pool frozen with its parameter versions, and simulated."""

from __future__ import annotations

import pytest

from competency.extensions import db
from competency.models import Assessment
from competency.services.demo_assessments import _job, _teacher, definitions
from competency.services.errors import ServiceError
from competency.services.publishing import publish


def _draft(spec):
    assessment = Assessment(**spec)
    db.session.add(assessment)
    db.session.flush()
    return assessment


def test_publish_freezes_pool_and_reports_simulation(bank):
    assessment = _draft(_job("J-SW-01"))
    report = publish(assessment, n_simulees=30)
    assert assessment.status == "published" and assessment.published_at is not None
    assert assessment.pool and all({"code", "version"} == set(e) for e in assessment.pool)
    assert assessment.graph_version
    assert 8 <= report["mean_length"] <= 20
    assert report["examinees"] == 30
    assert sum(report["stop_reasons"].values()) == 30
    assert report["conditional"], "precision by θ bins"
    assert 0 < report["max_exposure"] <= 1


def test_publish_refuses_unreachable_content_constraints(bank):
    spec = _teacher()
    spec["engine"] = {**spec["engine"], "content_min": {"T1": 500}}
    assessment = _draft(spec)
    with pytest.raises(ServiceError) as info:
        publish(assessment, n_simulees=10)
    assert "engine.content_min.T1" in info.value.message
    assert assessment.status == "draft" and assessment.pool == []


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"cut_scores": {"*": [0.0, 1.0]}}, "cut_scores"),
        ({"engine": {"selector": "telepathy"}}, "engine"),
        ({"role_code": "J-NOPE-01"}, "role_code"),
    ],
)
def test_publish_refuses_bad_definitions(bank, change, fragment):
    assessment = _draft({**_job("J-BD-01"), **change})
    with pytest.raises(ServiceError) as info:
        publish(assessment, n_simulees=10)
    assert fragment in info.value.message


def test_demo_definitions_cover_each_kind():
    kinds = {d["kind"] for d in definitions()}
    assert kinds == {"teacher_graded", "student_literacy", "job_skill"}
    teacher = next(d for d in definitions() if d["kind"] == "teacher_graded")
    assert teacher["engine"]["mcat"] is True and len(teacher["dimensions"]) == 5


def _strict(spec: dict) -> dict:
    return {**spec, "grade_rule": {**spec["grade_rule"], "min_accuracy": {"dimensions": 0.99, "overall": 0.99}}}


def test_publish_reports_classification_accuracy(bank):
    assessment = _draft(_job("J-SW-01"))
    report = publish(assessment, n_simulees=60)
    cls = report["classification"]
    rows = [*cls["dimensions"], cls["overall"], cls["overall_levels"]]
    for row in rows:
        assert 0 <= row["accuracy"] <= 1 and 0 <= row["expected_accuracy"] <= 1
        assert row["accuracy_ci95"][0] <= row["accuracy"] <= row["accuracy_ci95"][1]
        assert 0 < row["consistency"] <= 1 and row["n"] == 60
    assert [c["code"] for c in cls["classes"]["overall"]] == ["J0–J1", "J2–J3"]
    # Two classes are told apart more often than four levels.
    assert cls["overall"]["accuracy"] >= cls["overall_levels"]["accuracy"]


def test_publish_refuses_accuracy_below_the_minimum(bank, make_user):
    trainer = make_user("trainer", "zhou")
    assessment = _draft(_strict(_job("J-SW-01")))
    for actor, reason in ((None, ""), (trainer, "we need it now")):
        with pytest.raises(ServiceError) as info:
            publish(assessment, actor=actor, n_simulees=30, override_reason=reason)
        assert info.value.code == "accuracy_below_minimum" and info.value.field == "grade_rule.min_accuracy"
        assert "overall" in info.value.message
        assert assessment.status == "draft" and assessment.pool == []


def test_platform_admin_may_publish_below_the_minimum_with_an_audited_reason(bank, make_user):
    from sqlalchemy import select

    from competency.models import AuditEvent

    admin = make_user("platform_admin", "root")
    assessment = _draft(_strict(_job("J-SW-01")))
    with pytest.raises(ServiceError):
        publish(assessment, actor=admin, n_simulees=30, override_reason="   ")
    publish(assessment, actor=admin, n_simulees=30, override_reason="pilot term; recalibrate in May")
    assert assessment.status == "published"
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "assessment.publish")).one()
    assert event.detail["override_reason"] == "pilot term; recalibrate in May"
    assert event.detail["accuracy_shortfalls"]
