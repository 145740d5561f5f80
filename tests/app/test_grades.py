"""Grades a certificate can stand behind: simulated takers with known θ through the JSON API on the demo
assessments, classification accuracy at the reported classes, test length, and minimum evidence.

Few takers keep the suite fast, so the accuracy goals are checked as "not significantly below" (the
goal lies inside or below the Wilson 95 % interval); benchmarks/bench_grades.py runs ≥ 150 takers.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from sqlalchemy import func, select

from competency.extensions import db
from competency.irt.classification import wilson_interval
from competency.models import Assessment, Attempt, Certificate, Institution, utcnow
from competency.services import accounts
from competency.services.demo import seed_demo
from tests.app.conftest import PASSWORD, answer_for, api_token
from tests.app.simulated_takers import accuracies, run_takers

TAKERS = 16


def _correlated(n: int, dims: int, rho: float, seed: int) -> np.ndarray:
    cov = np.full((dims, dims), rho)
    np.fill_diagonal(cov, 1.0)
    return np.random.default_rng(seed).multivariate_normal(np.zeros(dims), cov, size=n)


def _not_below(observed: float, goal: float, n: int) -> bool:
    return wilson_interval(observed, n)[1] >= goal


def _demo_teacher(username: str) -> str:
    """A teacher of the first demo institution (the demo is seeded first, as on a fresh install)."""
    school = db.session.scalars(select(Institution).order_by(Institution.id)).first()
    return accounts.create_user(username, PASSWORD, "teacher", institution=school).username


def test_teacher_assessment_reaches_its_accuracy_and_length_goals(app, client):
    seed_demo(lambda _line: None)
    assessment = db.session.scalar(select(Assessment).where(Assessment.code == "TDL-2026"))
    names = [_demo_teacher(f"sim_t{i}") for i in range(TAKERS)]
    tokens = {i: {"Authorization": f"Bearer {api_token(client, name)}"} for i, name in enumerate(names)}
    run = run_takers(client, tokens.__getitem__, assessment, _correlated(TAKERS, 5, 0.6, seed=11), seed=5)
    assert all(r["status"] == "graded" for r in run["results"])
    assert np.mean(run["lengths"]) <= 40 and max(run["lengths"]) <= 40
    per_dim, overall = accuracies(run)
    assert all(_not_below(acc, 0.80, TAKERS) for acc in per_dim), per_dim
    assert _not_below(overall, 0.85, TAKERS), overall
    for result in run["results"]:
        assert result["certificate_code"] and result["uncertainty"]
        low, high = result["overall_range"]
        assert low <= result["overall_level"] <= high


def test_below_minimum_teacher_attempt_gets_no_level_and_no_certificate(app, client):
    seed_demo(lambda _line: None)
    assessment = db.session.scalar(select(Assessment).where(Assessment.code == "TDL-2026"))
    _demo_teacher("quitter")
    headers = {"Authorization": f"Bearer {api_token(client, 'quitter')}"}
    body = client.post("/api/v1/attempts", json={"assessment_id": assessment.id}, headers=headers).get_json()
    item = body["item"]
    for _ in range(5):  # five answers, then time runs out: the minimum is 20 (and 4 per dimension)
        data = client.post(
            f"/api/v1/attempts/{body['id']}/responses",
            json={"position": item["position"], "item_id": item["item_id"], "answer": answer_for(item)},
            headers=headers,
        ).get_json()
        item = data["item"]
    attempt = db.session.get(Attempt, body["id"])
    attempt.deadline_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    state = client.get(f"/api/v1/attempts/{body['id']}", headers=headers).get_json()
    assert state["status"] == "insufficient"
    result = client.get(f"/api/v1/attempts/{body['id']}/result", headers=headers).get_json()
    assert result["status"] == "insufficient_evidence" and result["items_answered"] == 5
    assert result["overall_level"] is None and result["certificate_code"] is None and result["plan_id"] is None
    assert any(code.startswith("total:5/20") for code in result["missing"])
    assert all(d["level"] is None for d in result["dimensions"])
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 0
