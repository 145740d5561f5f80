"""The pilot-centre programme end to end: one application through every state, through the pages."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from competency.extensions import db
from competency.models import (
    AuditEvent,
    ExpertTie,
    Message,
    OutboxMail,
    PilotApplication,
    PilotCall,
    PilotDesignation,
    PilotObjection,
    PilotReview,
    utcnow,
)
from competency.services import maturity_summary
from tests.app.conftest import csrf_from, login
from tests.app.pilot_factory import PDF_BYTES, complete_form, docx_bytes, make_call, summary

LOCAL = "%Y-%m-%dT%H:%M"


@pytest.fixture
def people(make_user, institution, other_institution):
    applicant = make_user("institution_admin", "applicant")
    officer = make_user("programme_officer", "officer1", inst=None)
    experts = [make_user("expert", f"expert{n}", inst=None) for n in range(1, 4)]
    insider = make_user("expert", "insider")  # works at the applicant institution
    tied = make_user("expert", "tied", inst=None)
    db.session.add(ExpertTie(expert_id=tied.id, institution_id=institution.id, note="former adviser"))
    db.session.commit()
    return {"applicant": applicant, "officer": officer, "experts": experts, "insider": insider, "tied": tied}


def _client(app, username):
    client = app.test_client()
    login(client, username)
    return client


def _app_of(call) -> PilotApplication:
    return db.session.scalar(select(PilotApplication).where(PilotApplication.call_id == call.id))


def test_officer_creates_call_in_beijing_time_stored_as_utc(app, people):
    officer = _client(app, "officer1")
    token = csrf_from(officer, "/pilots/office/calls/new")
    response = officer.post(
        "/pilots/office/calls/new",
        data={
            "csrf_token": token,
            "title": "第三批",
            "eligible_types": ["enterprise", "higher_vocational"],
            "industries": ["AI", "NEV"],
            "opens_at": "2027-03-01T09:00",
            "closes_at": "2027-03-31T17:00",
            "quota": "5",
            "weight_diagnosis": "30",
            "spread_threshold": "15",
            "rubric": "a | 方案 | 60\nb | 条件 | 40",
            "required_fields": ["unit_name", "development_plan", "contact_email"],
            "required_attachments": ["stamped_scan", "supporting"],
        },
    )
    assert response.status_code == 302
    call = db.session.scalar(select(PilotCall).where(PilotCall.title == "第三批"))
    assert call.opens_at.hour == 1 and call.closes_at.hour == 9  # 09:00 and 17:00 Beijing = UTC+8
    assert call.rubric == [{"code": "a", "name": "方案", "max": 60}, {"code": "b", "name": "条件", "max": 40}]
    assert call.required_fields == ["unit_name", "development_plan", "contact_email"]
    assert call.required_attachments == ["stamped_scan", "supporting"]
    page = officer.get(f"/pilots/office/calls/{call.id}").get_data(as_text=True)
    assert "2027-03-31 17:00" in page
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "pilot_call.create"))
    assert event.detail["before"] is None and event.detail["after"]["quota"] == 5


def test_one_application_through_every_state(app, people, monkeypatch):
    call = make_call()
    applicant = _client(app, "applicant")
    officer = _client(app, "officer1")

    # Draft: start, save a partial form.
    token = csrf_from(applicant, "/pilots/")
    assert applicant.post(f"/pilots/calls/{call.id}/apply", data={"csrf_token": token}).status_code == 302
    application = _app_of(call)
    edit = f"/pilots/applications/{application.id}/edit"
    token = csrf_from(applicant, edit)
    partial = complete_form(token, guarantee_operation="", save="1")
    assert applicant.post(edit, data=partial).status_code == 302
    db.session.refresh(application)
    assert application.status == "draft" and application.form["guarantee_operation"] == ""

    # Submit while incomplete: refused, each missing item named, nothing changes.
    response = applicant.post(edit, data=complete_form(token, guarantee_operation="", submit_application="1"))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "运营机制" in page and "盖章申报表" in page
    db.session.refresh(application)
    assert application.status == "draft"

    # Attachments, checked by content.
    upload = f"/pilots/applications/{application.id}/attachments"
    applicant.post(
        upload,
        data={"csrf_token": token, "kind": "stamped_scan", "file": (io.BytesIO(PDF_BYTES), "申报表.pdf")},
    )
    applicant.post(
        upload,
        data={"csrf_token": token, "kind": "supporting", "file": (io.BytesIO(docx_bytes()), "佐证.docx")},
    )
    db.session.refresh(application)
    assert sorted(a.file_type for a in application.attachments) == ["docx", "pdf"]

    # Submit, withdraw, resubmit.
    assert applicant.post(edit, data=complete_form(token, submit_application="1")).status_code == 302
    db.session.refresh(application)
    assert application.status == "submitted" and application.submitted_at is not None
    view = f"/pilots/applications/{application.id}"
    assert applicant.post(f"{view}/withdraw", data={"csrf_token": token}).status_code == 302
    db.session.refresh(application)
    assert application.status == "withdrawn"
    assert applicant.post(edit, data=complete_form(token, submit_application="1")).status_code == 302
    db.session.refresh(application)
    assert application.status == "submitted"

    # 初筛: returned for completion with reasons and a date; the applicant sees them and fixes.
    work = f"/pilots/office/applications/{application.id}"
    otoken = csrf_from(officer, work)
    fix_by = (utcnow() + timedelta(days=5)).strftime(LOCAL)
    response = officer.post(
        work,
        data={
            "s-csrf_token": otoken,
            "s-decision": "return",
            "s-reasons": "请补充设备清单",
            "s-fix_by": fix_by,
            "s-screen": "1",
        },
    )
    assert response.status_code == 302
    db.session.refresh(application)
    assert application.status == "returned" and application.fix_by is not None
    assert "请补充设备清单" in applicant.get(view).get_data(as_text=True)
    response = applicant.post(
        edit, data=complete_form(token, base_equipment="设备 520 台（清单见附件）", submit_application="1")
    )
    assert response.status_code == 302
    db.session.refresh(application)
    assert application.status == "submitted" and application.form["base_equipment"].startswith("设备 520")

    # Passing needs every check ticked.
    checks = {
        f"s-check_{k}": "y"
        for k in (
            "materials_complete",
            "eligible_type",
            "industry_match",
            "base_conditions",
            "project_experience",
            "guarantees",
        )
    }
    refused = officer.post(
        work,
        data={"s-csrf_token": otoken, "s-decision": "pass", "s-screen": "1", "s-check_eligible_type": "y"},
    )
    assert refused.status_code == 400
    assert (
        officer.post(
            work, data={"s-csrf_token": otoken, "s-decision": "pass", "s-screen": "1", **checks}
        ).status_code
        == 302
    )
    db.session.refresh(application)
    assert application.status == "screened"

    # 评估诊断 through the maturity interface.
    monkeypatch.setattr(maturity_summary, "latest_summary", lambda institution_id: None)
    monkeypatch.setattr(maturity_summary, "open_round_for", lambda institution_id, actor, title: 77)
    officer.post(f"{work}/diagnosis", data={"csrf_token": otoken})
    db.session.refresh(application)
    assert application.status == "diagnosing" and application.diagnosis_round_id == 77
    officer.post(f"{work}/diagnosis", data={"csrf_token": otoken})  # round still open
    db.session.refresh(application)
    assert application.status == "diagnosing"
    monkeypatch.setattr(maturity_summary, "latest_summary", lambda institution_id: summary(77, 80.0))
    officer.post(f"{work}/diagnosis", data={"csrf_token": otoken})
    db.session.refresh(application)
    assert application.status == "diagnosed" and application.diagnosis_score == 80.0

    # 专家评审: conflicts of interest are excluded, at least three experts.
    e1, e2, e3 = people["experts"]
    page = officer.get(work).get_data(as_text=True)
    assert "works at the applicant institution" in page or "申报单位" in page
    for conflicted in (people["insider"], people["tied"]):
        response = officer.post(
            work, data={"a-csrf_token": otoken, "a-experts": [e1.id, e2.id, conflicted.id], "a-assign": "1"}
        )
        assert response.status_code == 400
        assert conflicted.display_name in response.get_data(as_text=True)
    assert (
        officer.post(
            work, data={"a-csrf_token": otoken, "a-experts": [e1.id, e2.id], "a-assign": "1"}
        ).status_code
        == 400
    )
    assert db.session.scalar(select(PilotReview.id)) is None
    assert (
        officer.post(
            work, data={"a-csrf_token": otoken, "a-experts": [e1.id, e2.id, e3.id], "a-assign": "1"}
        ).status_code
        == 302
    )
    db.session.refresh(application)
    assert application.status == "in_review"

    # Independent scoring; the third expert's total is far off: spread flag.
    def score(username, points, comment):
        client = _client(app, username)
        review = db.session.scalar(select(PilotReview).where(PilotReview.expert.has(username=username)))
        url = f"/pilots/reviews/{review.id}"
        before = client.get(url).get_data(as_text=True)
        tok = csrf_from(client, url)
        data = {"csrf_token": tok, "submit_review": "1"}
        for code, value in points.items():
            data[f"score_{code}"] = str(value)
            data[f"comment_{code}"] = comment
        assert client.post(url, data=data).status_code == 302
        return before, client.get(url).get_data(as_text=True)

    high = {"plan": 18, "base": 22, "projects": 22, "guarantee": 13, "demonstration": 13}  # 88
    mid = {"plan": 16, "base": 20, "projects": 20, "guarantee": 12, "demonstration": 12}  # 80
    low = {"plan": 12, "base": 14, "projects": 14, "guarantee": 8, "demonstration": 8}  # 56
    score("expert1", high, "规划清晰-一号专家")
    before, after = score("expert2", mid, "条件较好-二号专家")
    assert "一号专家" not in before and "88.0" not in before  # no peeking before submitting
    assert "88.0" in after  # visible once submitted
    score("expert3", low, "项目偏少-三号专家")
    db.session.refresh(application)
    assert application.status == "reviewed"
    assert application.expert_score == pytest.approx((88 + 80 + 56) / 3, abs=0.01)
    assert application.spread == 32 and application.spread_flag

    # 择优: the flag must be settled (panel note) before selecting.
    ranking = f"/pilots/office/calls/{call.id}/ranking"
    response = officer.post(ranking, data={"csrf_token": otoken, "selected": [application.id]})
    assert response.status_code == 409
    officer.post(work, data={"n-csrf_token": otoken, "n-note": "专家组会商后维持原评分", "n-save_note": "1"})
    assert officer.post(ranking, data={"csrf_token": otoken, "selected": [application.id]}).status_code == 302
    db.session.refresh(application)
    assert application.status == "selected" and application.rank == 1
    assert application.final_score == pytest.approx(0.4 * 80 + 0.6 * application.expert_score, abs=0.01)

    # 公示: dates out of order refused; then published; an objection from anyone; resolved.
    notice = f"/pilots/office/calls/{call.id}/notice"
    now = utcnow()
    officer.post(
        notice,
        data={
            "csrf_token": otoken,
            "starts_at": (now + timedelta(days=2)).strftime(LOCAL),
            "ends_at": now.strftime(LOCAL),
            "procedure": "书面",
        },
    )
    db.session.refresh(call)
    assert call.notice_starts_at is None
    officer.post(
        notice,
        data={
            "csrf_token": otoken,
            "starts_at": (now - timedelta(hours=1)).strftime(LOCAL),
            "ends_at": (now + timedelta(days=5)).strftime(LOCAL),
            "procedure": "实名书面提出",
        },
    )
    db.session.refresh(call)
    assert call.notice_starts_at is not None
    public = app.test_client()
    page = public.get(f"/notices/pilots/{call.id}").get_data(as_text=True)
    assert "测试职业技术学院" in page and "实名书面提出" in page
    ptoken = csrf_from(public, f"/notices/pilots/{call.id}")
    response = public.post(
        f"/notices/pilots/{call.id}",
        data={
            "csrf_token": ptoken,
            "application_id": application.id,
            "name": "王某",
            "contact": "wang@example.com",
            "text": "合作项目是否属实？",
        },
    )
    assert response.status_code == 302
    objection = db.session.scalar(select(PilotObjection))
    assert objection.status == "open"
    raised = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "pilot_objection.create"))
    assert raised.actor_id is None and raised.ip
    # Designation waits for the period to end and every objection to be resolved.
    assert (
        officer.post(f"/pilots/office/calls/{call.id}/designate", data={"csrf_token": otoken}).status_code
        == 302
    )
    assert db.session.scalar(select(PilotDesignation.id)) is None
    officer.post(
        f"/pilots/office/objections/{objection.id}/resolve",
        data={"csrf_token": otoken, "outcome": "dismissed", "resolution": "经核实属实，异议不成立"},
    )
    db.session.refresh(objection)
    assert objection.status == "dismissed"
    call.notice_ends_at = utcnow() - timedelta(minutes=1)  # the period has run its course
    call.notice_starts_at = utcnow() - timedelta(days=6)
    db.session.commit()
    officer.post(f"/pilots/office/calls/{call.id}/designate", data={"csrf_token": otoken})
    db.session.refresh(application)
    assert application.status == "designated"
    designation = db.session.scalar(select(PilotDesignation))
    assert designation.ends_at.year == designation.designated_at.year + 2
    assert {m.kind for m in designation.milestones} == {"milestone", "midterm", "final"}

    # The verifiable public record, in the contract's shape.
    record = public.get(f"/api/v1/pilots/{designation.code}").get_json()
    assert set(record) == {
        "code",
        "institution",
        "institution_type",
        "industries",
        "designated_at",
        "ends_at",
        "status",
    }
    assert record["status"] == "active" and record["industries"] == ["AI", "BD"]
    assert record["institution"] == "测试职业技术学院"
    assert public.get("/api/v1/pilots").get_json()["pilots"] == [record]
    assert public.get("/api/v1/pilots/NOSUCHCODE").status_code == 404
    assert "测试职业技术学院" in public.get(f"/pilot-units/{designation.code}").get_data(as_text=True)

    # Two-year tracking: the mid-term review with a re-diagnosis.
    midterm = next(m for m in designation.milestones if m.kind == "midterm")
    monkeypatch.setattr(maturity_summary, "open_round_for", lambda institution_id, actor, title: 91)
    officer.post(
        f"/pilots/office/milestones/{midterm.id}", data={"csrf_token": otoken, "action": "done", "note": "x"}
    )
    db.session.refresh(midterm)
    assert midterm.done_at is None  # a review is done only with its re-diagnosis
    officer.post(
        f"/pilots/office/milestones/{midterm.id}", data={"csrf_token": otoken, "action": "rediagnose"}
    )
    monkeypatch.setattr(maturity_summary, "latest_summary", lambda institution_id: summary(91, 85.0))
    officer.post(f"/pilots/office/milestones/{midterm.id}", data={"csrf_token": otoken, "action": "attach"})
    officer.post(
        f"/pilots/office/milestones/{midterm.id}",
        data={"csrf_token": otoken, "action": "done", "note": "中期评估通过"},
    )
    db.session.refresh(midterm)
    assert midterm.done_at is not None and midterm.diagnosis["overall_score"] == 85.0

    # Every status change reached the applicant (message centre + outbox mail), and all was audited.
    subjects = [
        m.subject
        for m in db.session.scalars(select(Message).where(Message.user_id == people["applicant"].id))
    ]
    assert len(subjects) >= 8
    assert (
        db.session.scalar(select(OutboxMail).where(OutboxMail.to_address == "li@example.edu.cn")) is not None
    )
    assert "试点单位" in applicant.get("/messages").get_data(as_text=True)
    actions = {
        e.action
        for e in db.session.scalars(select(AuditEvent).where(AuditEvent.target_id == str(application.id)))
    }
    assert {
        "pilot_application.submit",
        "pilot_application.withdraw",
        "pilot_application.screen",
        "pilot_application.diagnosis",
        "pilot_application.assign_experts",
        "pilot_application.select",
    } <= actions
    screen = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "pilot_application.screen"))
    assert screen.detail["before"]["status"] == "submitted" and screen.detail["after"]["status"] == "returned"


def test_upheld_objection_keeps_the_unit_from_designation(app, people):
    from competency.services import pilot_designations, pilot_notice

    call = make_call()
    application = PilotApplication(
        call_id=call.id,
        institution_id=people["applicant"].institution_id,
        status="selected",
        form={"unit_name": "甲"},
        rank=1,
    )
    db.session.add(application)
    call.notice_starts_at = utcnow() - timedelta(days=1)
    call.notice_ends_at = utcnow() + timedelta(days=1)
    db.session.commit()
    objection = pilot_notice.object_to(call, application.id, "赵", "zhao@example.com", "材料不实")
    pilot_notice.resolve_objection(objection.id, "upheld", "核实不实", people["officer"])
    call.notice_ends_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert pilot_designations.designate(call, people["officer"]) == []
    assert application.status == "objection_upheld"
