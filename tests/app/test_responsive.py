"""Every role's main pages at phone (360 px), tablet (768 px) and desktop (1366 px) width: no
horizontal page scrolling and no serious or critical axe violation (Debian's chromium, Playwright)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from competency import graph
from competency.extensions import db
from competency.models import Cohort, CohortAssignment, CohortMembership, utcnow
from competency.services import certificates, layering, plans
from competency.services.resources import seed_resources
from tests.app.conftest import PASSWORD
from tests.app.outcomes_factory import make_assessment, make_attempt
from tests.app.test_browser import CHROMIUM, live_server  # noqa: F401  (the fixture)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)"),
]
# (width, language): phone, tablet and desktop widths in Chinese, the phone width again in English
# (longer words).
RUNS = ((360, "zh"), (768, "zh"), (1366, "zh"), (360, "en"))
TEACHER_DIMS = {"T1": "L3", "T2": "L2", "T3": "L4", "T4": "L2", "T5": "L1"}


@pytest.fixture
def world(app, make_user, institution, bank):
    """A teacher and a student with results, certificates and plans; a layered cohort of teachers with
    a trainer; an institution admin and a platform admin."""
    seed_resources(lambda _m: None)
    trainer = make_user("trainer", "zhou", display_name="周培训师")
    make_user("institution_admin", "ia", display_name="院校管理员")
    make_user("platform_admin", "root", display_name="平台管理员")
    teacher_test = make_assessment()
    job = make_assessment(
        "JOB-BD", scale="job", kind="job_skill", role_code="J-BD-01", dimensions=["J-BD-01"]
    )
    cohort = Cohort(name="数字素养提升班（2026 秋季）", institution_id=institution.id, owner_id=trainer.id)
    db.session.add(cohort)
    db.session.flush()
    assignment = CohortAssignment(
        cohort_id=cohort.id,
        assessment_id=teacher_test.id,
        opens_at=utcnow() - timedelta(days=2),
        closes_at=utcnow() + timedelta(days=2),
    )
    db.session.add(assignment)
    db.session.commit()
    levels = ["L1", "L2", "L3", "L4", "L5", "L6"]
    # The heat map at full size: 40 members × all 33 indicators.
    indicators = sorted(graph.nodes_of_kind(graph.teacher_map(), "indicator"), key=graph.code_key)
    teacher = None
    for i in range(40):
        user = make_user(
            "teacher",
            "teacher" if i == 0 else f"t{i:02d}",
            display_name=f"教师{i:02d}号（信息技术教研室）",
            teacher_category="public_course",
            career_stage="proficient",
        )
        db.session.add(CohortMembership(cohort_id=cohort.id, user_id=user.id))
        db.session.commit()
        attempt = make_attempt(
            user,
            teacher_test,
            {d: levels[(i + k) % 6] for k, d in enumerate(TEACHER_DIMS)},
            {code: levels[(i + k) % 6] for k, code in enumerate(indicators)},
            overall=levels[i % 6],
        )
        if i == 0:
            teacher = user
            certificates.issue_for_attempt(attempt)
            plans.build_for_attempt(attempt)
            db.session.commit()
    layering.layer_cohort(cohort, assignment, "overall", trainer)
    student = make_user(
        "student", "student", display_name="李同学", programme="大数据技术", target_role="J-BD-01"
    )
    attempt = make_attempt(
        student, job, {"J-BD-01": "J1"}, {"S1.2": "J2", "S1.3": "J1", "S4.2": "J0"}, overall="J1"
    )
    certificates.issue_for_attempt(attempt)
    plans.build_for_attempt(attempt)
    db.session.commit()
    return {
        "cohort": cohort,
        "assignment": assignment,
        "teacher": teacher,
        "teacher_attempt": teacher.id,
        "student_attempt": attempt,
        "job": job,
        "teacher_test": teacher_test,
    }


def _pages(world) -> dict[str, list[str]]:
    from sqlalchemy import select

    from competency.models import Attempt, Certificate, Item, Plan

    cohort, assignment = world["cohort"], world["assignment"]
    teacher_attempt = db.session.scalar(select(Attempt).where(Attempt.user_id == world["teacher"].id))
    teacher_plan = db.session.scalar(select(Plan).where(Plan.user_id == world["teacher"].id))
    student_plan = db.session.scalar(select(Plan).where(Plan.attempt_id == world["student_attempt"].id))
    cert = db.session.scalar(select(Certificate).where(Certificate.user_id == world["teacher"].id))
    item = db.session.scalar(select(Item.code).where(Item.type == "multiple").limit(1))
    return {
        "": ["/", "/login", "/verify", f"/verify/{cert.code}", "/no-such-page"],
        "teacher": [
            "/home",
            "/assessments/",
            f"/assessments/{world['teacher_test'].id}",
            f"/attempts/{teacher_attempt.id}/result",
            "/map",
            "/map?focus=T3.1.2",
            "/plans/",
            f"/plans/{teacher_plan.id}",
            "/certificates/",
        ],
        "student": [
            "/home",
            "/assessments/",
            f"/attempts/{world['student_attempt'].id}/result",
            "/map",
            "/map/jobs/",
            "/map/jobs/J-BD-01?focus=S1.3",
            f"/plans/{student_plan.id}",
            "/certificates/",
        ],
        "zhou": [
            "/home",
            "/cohorts/",
            f"/cohorts/{cohort.id}",
            f"/trainer/cohorts/{cohort.id}",
            f"/trainer/cohorts/{cohort.id}/assignments/{assignment.id}",
            f"/trainer/cohorts/{cohort.id}/map?focus=T3.1.2",
            "/manage/assessments/",
            "/manage/assessments/new",
            f"/manage/assessments/{world['job'].id}",
            "/resources/",
            "/resources/new",
        ],
        "ia": [
            "/home",
            "/trainer/institution",
            "/admin/users",
            "/certificates/manage",
            f"/certificates/{cert.code}/revoke",
        ],
        "root": ["/home", "/admin/institutions", "/admin/items/", f"/admin/items/{item}", "/admin/users"],
    }


def test_every_role_at_phone_and_desktop_width(live_server, world):  # noqa: F811
    """Also checks the language: an English run must really be in English."""
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import sync_playwright

    pages = _pages(world)
    axe = Axe()
    failures: list[str] = []
    visited = 0
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu", "--no-first-run"]
        )
        for username, urls in pages.items():
            for width, lang in RUNS:
                context = browser.new_context(viewport={"width": width, "height": 800})
                page = context.new_page()
                if lang == "en":
                    page.goto(f"{live_server}/login")
                    with page.expect_navigation():
                        page.click("form.lang-switch button")
                if username:
                    page.goto(f"{live_server}/login")
                    page.fill("#username", username)
                    page.fill("#password", PASSWORD)
                    with page.expect_navigation():
                        page.keyboard.press("Enter")
                    assert page.url.endswith("/home"), f"{username} could not log in"
                for url in urls:
                    page.goto(f"{live_server}{url}")
                    visited += 1
                    assert page.evaluate("document.documentElement.lang") == (
                        "en" if lang == "en" else "zh-CN"
                    )
                    scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
                    if scroll > inner:
                        wide = page.evaluate(
                            """(w) => Array.from(document.querySelectorAll('main *'))
                                 .filter(e => e.getBoundingClientRect().right > w + 1)
                                 .slice(0, 3).map(e => e.tagName + '.' + e.className + '#' + e.id)""",
                            inner,
                        )
                        failures.append(
                            f"{username or 'anonymous'} {width}px {url}: page {scroll} px wide ({wide})"
                        )
                    for violation in axe.run(page).response["violations"]:
                        if violation["impact"] in ("serious", "critical"):
                            failures.append(
                                f"{username or 'anonymous'} {width}px {lang} {url}: {violation['id']} ({violation['impact']}) "
                                f"at {violation['nodes'][0]['target']}"
                            )
                context.close()
        browser.close()
    assert visited == len(RUNS) * sum(len(u) for u in pages.values())
    assert failures == [], "\n".join(failures)
