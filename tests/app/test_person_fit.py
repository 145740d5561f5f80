"""Person fit (lz*) on a cohort's results: shown to managers with plain words, never to the person."""

from __future__ import annotations

from datetime import timedelta

from competency.extensions import db
from competency.models import Cohort, CohortAssignment, CohortMembership, Response, utcnow
from competency.services import person_fit, pools
from tests.app.conftest import api_token, login
from tests.app.outcomes_factory import make_attempt

WORDS = "异常作答模式"  # "Unusual answer patterns"


def _setup(make_user, institution, job_assessment):
    trainer = make_user("trainer", "coach")
    odd, plain = make_user("student", "odd"), make_user("student", "plain")
    cohort = Cohort(name="岗位班", institution_id=institution.id, owner_id=trainer.id)
    db.session.add(cohort)
    db.session.flush()
    for user in (odd, plain):
        db.session.add(CohortMembership(cohort_id=cohort.id, user_id=user.id))
    assignment = CohortAssignment(
        cohort_id=cohort.id,
        assessment_id=job_assessment.id,
        opens_at=utcnow() - timedelta(days=1),
        closes_at=utcnow() + timedelta(days=1),
    )
    db.session.add(assignment)
    db.session.commit()
    pool = pools.pool_items(job_assessment)
    by_b = sorted(
        (p.item.irt.b, code) for code, p in pool.items() if not p.pilot and p.item.irt.model in ("2pl", "3pl")
    )
    half = len(by_b) // 2
    attempts = {}
    for user, hard_right in ((odd, True), (plain, False)):
        dim = job_assessment.dimensions[0]
        attempt = make_attempt(user, job_assessment, {dim: "J1"}, {}, "J1")
        for position, (_b, code) in enumerate(by_b, start=1):
            easy = position <= half
            right = (not easy) if hard_right else easy  # odd: easy wrong, hard right
            db.session.add(
                Response(
                    attempt_id=attempt.id,
                    position=position,
                    item_code=code,
                    param_version=pool[code].version,
                    answer={"value": "A"},
                    score=int(right),
                )
            )
        attempts[user.username] = attempt
    db.session.commit()
    return cohort, assignment, attempts


def test_an_aberrant_pattern_is_flagged_for_the_trainer_only(
    app, client, make_user, institution, job_assessment
):
    cohort, assignment, attempts = _setup(make_user, institution, job_assessment)
    fits = person_fit.for_attempts([a.id for a in attempts.values()])
    assert fits[attempts["odd"].id].flagged and fits[attempts["odd"].id].lz < -2.3
    assert not fits[attempts["plain"].id].flagged

    login(client, "coach")
    page = client.get(f"/trainer/cohorts/{cohort.id}/assignments/{assignment.id}").get_data(as_text=True)
    section = page.split(WORDS, 1)[1].split("</section>", 1)[0]
    assert "(odd)" in section and "(plain)" not in section and "随意点选" in section

    own = app.test_client()
    login(own, "odd")
    response = own.get(f"/attempts/{attempts['odd'].id}/result")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "J1" in html
    assert WORDS not in html and "lz*" not in html
    token = api_token(app.test_client(), "odd")
    body = app.test_client().get(
        f"/api/v1/attempts/{attempts['odd'].id}/result", headers={"Authorization": f"Bearer {token}"}
    )
    assert body.status_code == 200 and "lz" not in body.get_data(as_text=True) and "fit" not in body.get_data(as_text=True)


def test_other_roles_do_not_reach_the_cohort_results(app, make_user, institution, job_assessment):
    cohort, assignment, _attempts = _setup(make_user, institution, job_assessment)
    client = app.test_client()
    login(client, "odd")
    response = client.get(f"/trainer/cohorts/{cohort.id}/assignments/{assignment.id}")
    assert response.status_code == 403
