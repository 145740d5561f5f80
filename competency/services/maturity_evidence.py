"""Objective evidence: values checked against the indicator's unit and range, proof files checked by
their content and kept outside the web root, reviewed by the round's experts."""

from __future__ import annotations

import secrets
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from competency.extensions import db
from competency.maturity import maturity_model, rules
from competency.models import MaturityEvidence, MaturityRound, Role, User, utcnow
from competency.services import audit
from competency.services.errors import Conflict, Forbidden, NotFound, ServiceError

MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
# What a proof file may be, told by its first bytes (the name and the browser's claim prove nothing).
_SIGNATURES: list[tuple[bytes, str, str]] = [
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
]
_ZIP = b"PK\x03\x04"
_OOXML = {
    b"word/": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx"),
    b"xl/": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx"),
}


def sniff(content: bytes) -> tuple[str, str] | None:
    """(MIME type, extension) of an allowed file by content, or None."""
    for magic, mime, ext in _SIGNATURES:
        if content.startswith(magic):
            return mime, ext
    if content.startswith(_ZIP):
        # An Office Open XML file is a zip whose first entries name its parts.
        head = content[:4096]
        for marker, kind in _OOXML.items():
            if marker in head and b"[Content_Types].xml" in content[:65536]:
                return kind
    return None


def storage_dir() -> Path:
    """Evidence files live under the instance folder, which the app never serves statically."""
    path = Path(current_app.instance_path) / "maturity_evidence"
    path.mkdir(parents=True, exist_ok=True)
    return path


def attachment_path(evidence: MaturityEvidence) -> Path:
    return storage_dir() / evidence.attachment_key


def objective_indicators(rnd: MaturityRound) -> list:
    return [i for i in maturity_model().applicable(rnd.institution_type, rnd.scenarios) if i.objective]


def enter(
    rnd: MaturityRound,
    indicator: str,
    raw_value: str,
    note: str,
    actor: User,
    filename: str | None = None,
    content: bytes | None = None,
    commit: bool = True,
) -> MaturityEvidence:
    """Enter (or replace) an objective indicator's value. Bad input changes nothing and names the field."""
    if not (
        actor.role == Role.PLATFORM_ADMIN
        or (actor.role == Role.INSTITUTION_ADMIN and actor.institution_id == rnd.institution_id)
    ):
        raise Forbidden("forbidden", _("only the institution enters its evidence"))
    if rnd.status != "open":
        raise Conflict("round_closed", _("the diagnosis round is closed"))
    spec = {i.code: i for i in objective_indicators(rnd)}.get(indicator)
    if spec is None:
        raise ServiceError("invalid_indicator", _("choose an objective indicator of this round"), "indicator")
    try:
        value = rules.parse_objective(spec.objective, raw_value)
    except ValueError as exc:
        spec_o = spec.objective
        if spec_o["kind"] == "boolean":
            message = _("value: answer yes or no")
        elif "whole" in str(exc):
            message = _("value: enter a whole number")
        else:
            message = _(
                "value: enter a number from %(min)s to %(max)s %(unit)s",
                min=spec_o["min"],
                max=spec_o["max"],
                unit=spec_o["unit"],
            )
        raise ServiceError("invalid_value", message, "value") from None
    kind = None
    if content:
        if len(content) > MAX_ATTACHMENT_BYTES:
            raise ServiceError("file_too_large", _("the file is larger than 5 MB"), "attachment")
        kind = sniff(content)
        if kind is None:
            raise ServiceError(
                "invalid_file", _("the file must be a PDF, PNG, JPEG, DOCX or XLSX document"), "attachment"
            )
    evidence = db.session.scalar(
        select(MaturityEvidence).where(
            MaturityEvidence.round_id == rnd.id, MaturityEvidence.indicator == indicator
        )
    )
    has_file = bool(content) or (evidence is not None and evidence.attachment_key)
    if spec.objective.get("attachment_required") and value >= 1 and not has_file:
        raise ServiceError("proof_required", _("a yes needs a proof document"), "attachment")
    if evidence is None:
        evidence = MaturityEvidence(round_id=rnd.id, indicator=indicator)
        db.session.add(evidence)
    evidence.value = value
    evidence.raw = (raw_value or "").strip()[:64]
    evidence.note = (note or "").strip()[:2000]
    evidence.entered_by_id = actor.id
    evidence.entered_at = utcnow()
    evidence.review_status = "pending"  # a changed value needs a fresh review
    evidence.review_comment = ""
    evidence.reviewed_by_id = None
    if content:
        old = evidence.attachment_key
        key = f"{rnd.id}-{secrets.token_hex(12)}{kind[1]}"
        (storage_dir() / key).write_bytes(content)
        evidence.attachment_key = key
        evidence.attachment_type = kind[0]
        evidence.attachment_size = len(content)
        evidence.attachment_name = Path(filename or f"evidence{kind[1]}").name[:200]
        if old:
            (storage_dir() / old).unlink(missing_ok=True)
    db.session.flush()
    audit.record(
        "maturity_evidence", "maturity_round", rnd.id, actor, {"indicator": indicator, "value": value}
    )
    if commit:
        db.session.commit()
    return evidence


def evidence_of(rnd: MaturityRound) -> dict[str, MaturityEvidence]:
    rows = db.session.scalars(select(MaturityEvidence).where(MaturityEvidence.round_id == rnd.id))
    return {e.indicator: e for e in rows}


def get(rnd: MaturityRound, evidence_id: int) -> MaturityEvidence:
    evidence = db.session.get(MaturityEvidence, evidence_id)
    if evidence is None or evidence.round_id != rnd.id:
        raise NotFound("evidence_not_found", _("evidence not found"))
    return evidence


def review(evidence: MaturityEvidence, status: str, comment: str, expert: User, commit: bool = True) -> None:
    """An assigned expert accepts or rejects a value; rejected evidence does not count."""
    rnd = db.session.get(MaturityRound, evidence.round_id)
    if rnd.status != "open":
        raise Conflict("round_closed", _("the diagnosis round is closed"))
    if status not in ("accepted", "rejected"):
        raise ServiceError("invalid_status", _("choose accept or reject"), "status")
    evidence.review_status = status
    evidence.review_comment = (comment or "").strip()[:2000]
    evidence.reviewed_by_id = expert.id
    audit.record(
        "maturity_evidence_review",
        "maturity_round",
        rnd.id,
        expert,
        {"indicator": evidence.indicator, "status": status},
    )
    if commit:
        db.session.commit()
