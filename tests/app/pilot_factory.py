"""Builders for the pilot-programme tests: a call, a complete form, real PDF and DOCX bytes, a fake diagnosis."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta

from competency.extensions import db
from competency.models import PilotCall, utcnow
from competency.services.pilot_calls import DEFAULT_RUBRIC
from competency.services.pilot_form import ELIGIBLE_TYPES, FIELD_KEYS

PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def docx_bytes(extra_entries: int = 0) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document>佐证材料</w:document>")
        for n in range(extra_entries):
            archive.writestr(f"word/media/x{n}.bin", b"")
    return buf.getvalue()


def make_call(**changes) -> PilotCall:
    now = utcnow()
    values = {
        "title": "测试批次",
        "description": "用于测试",
        "eligible_types": list(ELIGIBLE_TYPES),
        "industries": ["AI", "BD", "IM"],
        "required_fields": list(FIELD_KEYS),
        "required_attachments": ["stamped_scan"],
        "opens_at": now - timedelta(days=1),
        "closes_at": now + timedelta(days=10),
        "quota": 1,
        "rubric": DEFAULT_RUBRIC,
        "weight_diagnosis": 40,
        "spread_threshold": 20.0,
        "objection_procedure": "书面提出",
    } | changes
    call = PilotCall(**values)
    db.session.add(call)
    db.session.commit()
    return call


def complete_form(csrf: str, **changes) -> dict:
    data = {
        "csrf_token": csrf,
        "unit_name": "测试职业技术学院",
        "unit_address": "广东省广州市测试路 1 号",
        "legal_representative": "张三",
        "institution_type": "higher_vocational",
        "industries": ["AI", "BD"],
        "development_plan": "建设数字化人才培养中心",
        "base_site": "实训室 10 间",
        "base_equipment": "设备 500 台",
        "base_textbooks": "数字教材 3 部",
        "base_videos": "视频 200 条",
        "base_courses": "在线课程 8 门",
        "projects-0-partner": "数智科技公司",
        "projects-0-period": "2024–2026",
        "projects-0-outcomes": "共建实训基地",
        "guarantee_management": "领导小组",
        "guarantee_operation": "校企双主体",
        "contact_name": "李老师",
        "contact_phone": "020-1234567",
        "contact_email": "li@example.edu.cn",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def summary(round_id: int, score: float = 76.0) -> dict:
    return {
        "round_id": round_id,
        "closed_at": utcnow(),
        "overall_level": 4,
        "overall_score": score,
        "areas": [{"code": "A1", "name_zh": "战略", "name_en": "Strategy", "level": 4, "score": score}],
        "report_url": "/maturity/rounds/1/report",
    }


def pilot_params(people: dict) -> dict:
    """URL parameters of the pilot routes for the authorisation matrix, owned by the matrix institution's
    admin (the applicant) and reviewed by the matrix expert."""
    from competency.models import Message, PilotDesignation, PilotMilestone, PilotObjection, PilotReview
    from competency.services import pilot_applications, pilot_attachments

    applicant = people["institution_admin"]
    call = make_call()
    application = pilot_applications.start(call, applicant)
    attachment = pilot_attachments.add_attachment(
        application, "stamped_scan", "scan.pdf", PDF_BYTES, applicant
    )
    application.status = "in_review"
    review = PilotReview(application_id=application.id, expert_id=people["expert"].id)
    objection = PilotObjection(application_id=application.id, name="甲", contact="a@example.com", text="异议")
    now = utcnow()
    designation = PilotDesignation(
        code="SD2026MATRIX01",
        application_id=application.id,
        institution_id=application.institution_id,
        institution_name="矩阵学院",
        institution_type="higher_vocational",
        industries=["AI"],
        designated_at=now,
        ends_at=now + timedelta(days=730),
    )
    db.session.add_all([review, objection, designation])
    db.session.flush()
    milestone = PilotMilestone(
        designation_id=designation.id, kind="midterm", title="中期", due_at=now + timedelta(days=365)
    )
    message = Message(user_id=people["teacher"].id, subject="通知", body="", link="/home")
    db.session.add_all([milestone, message])
    db.session.commit()
    return {
        "call_id": call.id,
        "application_id": application.id,
        "attachment_id": attachment.id,
        "review_id": review.id,
        "objection_id": objection.id,
        "designation_id": designation.id,
        "milestone_id": milestone.id,
        "message_id": message.id,
    }
