"""Publishing: the definition is checked, the pool frozen with its parameter versions, and simulated."""

from __future__ import annotations

import pytest

from competency.extensions import db
from competency.models import Assessment
from competency.services.assessments import publish
from competency.services.demo_assessments import _job, _teacher, definitions
from competency.services.errors import ServiceError


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
