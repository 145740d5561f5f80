"""A real browser (Debian's chromium through Playwright) fills the 申报表 in Chinese, uploads the stamped
scan and a Word document, and submits; the pages pass axe's WCAG checks on the way."""

from __future__ import annotations

from sqlalchemy import select

from competency.extensions import db
from competency.models import PilotApplication
from tests.app.conftest import PASSWORD
from tests.app.pilot_factory import PDF_BYTES, docx_bytes, make_call
from tests.app.test_browser import browser_page, live_server, pytestmark  # noqa: F401  (fixtures, marks)


def test_applicant_fills_and_submits_in_chinese(live_server, browser_page, make_user, tmp_path):  # noqa: F811
    from axe_playwright_python.sync_playwright import Axe

    make_user("institution_admin", "applicant")
    call = make_call(title="浏览器测试批次")
    scan = tmp_path / "盖章申报表.pdf"
    scan.write_bytes(PDF_BYTES)
    word = tmp_path / "佐证材料.docx"
    word.write_bytes(docx_bytes())
    page = browser_page
    axe = Axe()
    rules = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
    violations = []

    def check() -> None:
        for v in axe.run(page, options=rules).response["violations"]:
            violations.append(f"{page.url}: {v['id']} at {v['nodes'][0]['target']}")

    page.goto(f"{live_server}/login")
    page.fill("#username", "applicant")
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.goto(f"{live_server}/pilots/")
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    check()
    with page.expect_navigation():
        page.click(f"#call-{call.id} button[type=submit]")
    assert page.url.endswith("/edit")
    check()

    for kind, path in (("stamped_scan", scan), ("supporting", word)):
        page.select_option("#kind", kind)
        page.set_input_files("#file", str(path))
        with page.expect_navigation():
            page.click("#upload")
    assert page.locator("#attachments li a").count() == 2
    assert "盖章申报表.pdf" in page.inner_text("#attachments")

    page.fill("#unit_address", "广东省广州市天河区职教路 8 号")
    page.fill("#legal_representative", "陈校长")
    page.select_option("#institution_type", "higher_vocational")
    page.check("input[name=industries][value=AI]")
    page.check("input[name=industries][value=BD]")
    page.fill("#development_plan", "面向粤港澳大湾区数字经济，建设人工智能与大数据人才培养高地。")
    page.fill("#base_site", "实训场地 5,000 平方米")
    page.fill("#base_equipment", "GPU 服务器 20 台，实训终端 600 台")
    page.fill("#base_textbooks", "新形态数字教材 8 部")
    page.fill("#base_videos", "微课视频 900 条")
    page.fill("#base_courses", "省级在线精品课程 5 门")
    page.fill("#projects-0-partner", "粤智云科技有限公司")
    page.fill("#projects-0-period", "2024 年 9 月至 2027 年 8 月")
    page.fill("#projects-0-outcomes", "共建产业学院，订单培养 300 人")
    page.fill("#guarantee_management", "校长任组长的建设领导小组")
    page.fill("#guarantee_operation", "理事会领导下的校企双主体运营")
    page.fill("#contact_name", "黄老师")
    page.fill("#contact_phone", "020-87654321")
    page.fill("#contact_email", "huang@example.edu.cn")
    with page.expect_navigation():
        page.click("#submit_application")
    assert "/pilots/applications/" in page.url and not page.url.endswith("/edit")
    assert "已提交" in page.inner_text("#application-state")
    check()
    application = db.session.scalar(select(PilotApplication).where(PilotApplication.call_id == call.id))
    assert application.status == "submitted"
    assert application.form["projects"][0]["partner"] == "粤智云科技有限公司"
    assert sorted(a.file_type for a in application.attachments) == ["docx", "pdf"]
    for url in ("/pilot-units", "/messages"):
        page.goto(f"{live_server}{url}")
        check()
    assert violations == []


def test_officer_expert_and_public_pages_pass_axe(live_server, browser_page, make_user, institution):  # noqa: F811
    from datetime import timedelta

    from axe_playwright_python.sync_playwright import Axe

    from competency.models import PilotReview, utcnow
    from competency.services import pilot_applications, pilot_attachments

    applicant = make_user("institution_admin", "applicant")
    make_user("programme_officer", "off", inst=None)
    expert = make_user("expert", "rev", inst=None)
    call = make_call(title="无障碍批次")
    application = pilot_applications.start(call, applicant)
    pilot_attachments.add_attachment(application, "stamped_scan", "scan.pdf", PDF_BYTES, applicant)
    application.status, application.diagnosis_score = "in_review", 70.0
    review = PilotReview(application_id=application.id, expert_id=expert.id)
    db.session.add(review)
    call.notice_starts_at, call.notice_ends_at = utcnow() - timedelta(days=1), utcnow() + timedelta(days=3)
    db.session.commit()
    page = browser_page
    axe = Axe()
    rules = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
    failures = []

    def login_as(username: str) -> None:
        page.context.clear_cookies()
        page.goto(f"{live_server}/login")
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        with page.expect_navigation():
            page.keyboard.press("Enter")

    def check(url: str) -> None:
        page.goto(f"{live_server}{url}")
        for v in axe.run(page, options=rules).response["violations"]:
            failures.append(f"{url}: {v['id']} at {v['nodes'][0]['target']}")

    login_as("off")
    for url in (
        "/pilots/office/",
        "/pilots/office/calls/new",
        f"/pilots/office/calls/{call.id}",
        f"/pilots/office/applications/{application.id}",
        f"/pilots/office/calls/{call.id}/ranking",
        f"/pilots/office/calls/{call.id}/objections",
        "/pilots/office/dashboard",
        f"/pilots/applications/{application.id}",
    ):
        check(url)
    login_as("rev")
    for url in ("/pilots/reviews/", f"/pilots/reviews/{review.id}", "/pilots/reviews/ties"):
        check(url)
    page.context.clear_cookies()
    check(f"/notices/pilots/{call.id}")
    assert failures == []
