"""A real browser (Debian's chromium driven by Playwright) takes a short test with the keyboard only."""

from __future__ import annotations

import shutil
import threading

import pytest
from werkzeug.serving import make_server

from tests.app.conftest import PASSWORD

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)"),
]


@pytest.fixture
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def browser_page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        page = browser.new_page()
        yield page
        browser.close()


def _tab_to(page, selector: str, limit: int = 40) -> None:
    """Press Tab until the element matching `selector` has the focus (keyboard only, no clicks)."""
    for _ in range(limit):
        if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"could not reach {selector} with the Tab key")


def test_keyboard_only_test(live_server, browser_page, make_user, job_assessment):
    make_user("student", "li")
    page = browser_page
    page.goto(f"{live_server}/login")
    _tab_to(page, "#username")
    page.keyboard.type("li")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/home")

    page.goto(f"{live_server}/assessments/{job_assessment.id}")
    _tab_to(page, "form[action$='/start'] button")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "/attempts/" in page.url

    for _ in range(10):
        if "/result" in page.url:
            break
        assert page.locator("fieldset legend").count() == 1
        selects = page.locator("select[name^=order-]")
        if selects.count():
            for i in range(selects.count()):  # a sequence item: a position for each step, typed
                _tab_to(page, f"select[name={selects.nth(i).get_attribute('name')}]")
                page.keyboard.press(str(i + 1))
        else:
            _tab_to(page, "input[name=answer]")
            page.keyboard.press("Space")  # selects a radio or ticks a checkbox
        _tab_to(page, "form.item-form button[type=submit]")
        with page.expect_navigation():
            page.keyboard.press("Enter")
    assert "/result" in page.url
    assert page.locator("svg[role=img]").count() >= 1
    assert page.locator("table").count() >= 1
    assert page.evaluate("document.documentElement.lang") == "zh-CN"


def test_pages_pass_axe_wcag_checks(live_server, browser_page, make_user, job_assessment, institution):
    """axe-core's WCAG 2.0/2.1 A and AA rules find no violation on the main pages of each role."""
    from axe_playwright_python.sync_playwright import Axe

    from competency.extensions import db
    from competency.models import Cohort, CohortMembership

    student = make_user("student", "li", programme="大数据技术", target_role="J-BD-01")
    make_user("trainer", "zhou")
    make_user("platform_admin", "root")
    cohort = Cohort(name="无障碍检查班", institution_id=institution.id)
    db.session.add(cohort)
    db.session.flush()
    db.session.add(CohortMembership(cohort_id=cohort.id, user_id=student.id))
    db.session.commit()
    page = browser_page
    axe = Axe()
    rules = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
    failures = []

    def check(url: str) -> None:
        page.goto(f"{live_server}{url}")
        for violation in axe.run(page, options=rules).response["violations"]:
            failures.append(
                f"{url}: {violation['id']} ({violation['impact']}) at {violation['nodes'][0]['target']}"
            )

    def login_as(username: str) -> None:
        page.context.clear_cookies()
        page.goto(f"{live_server}/login")
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        with page.expect_navigation():
            page.keyboard.press("Enter")

    for url in ("/", "/login", "/verify"):
        check(url)
    login_as("li")
    check("/home")
    check(f"/assessments/{job_assessment.id}")
    with page.expect_navigation():
        page.click("form[action$='/start'] button")
    check(page.url.removeprefix(live_server))
    login_as("zhou")
    for url in (
        "/home",
        f"/cohorts/{cohort.id}",
        f"/trainer/cohorts/{cohort.id}",
        "/manage/assessments/",
        "/manage/assessments/new",
        f"/manage/assessments/{job_assessment.id}",
    ):
        check(url)
    login_as("root")
    for url in ("/admin/items/", "/admin/users", "/admin/institutions", "/certificates/manage"):
        check(url)
    assert failures == []
