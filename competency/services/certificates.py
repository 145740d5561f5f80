"""Graded certificates: issue when an attempt is graded, verify publicly, revoke with a reason."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select

from competency.bilingual import localized
from competency.extensions import db
from competency.graph import level_scale
from competency.models import (
    Attempt,
    Certificate,
    CertificateLookupMiss,
    RevocationCategory,
    Role,
    User,
    utcnow,
)
from competency.services import audit, rate_limits
from competency.services.errors import NotFound, ServiceError

# No 0/O, 1/I/L: codes are read aloud and typed from paper. 31 symbols × 20 ≈ 99 bits.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 20
DEFAULT_RULE = {"enabled": True, "min_overall": None, "validity_years": 2}


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(code: str) -> str:
    """Accept the grouped, lower-case form people type (``abcd-efgh-…``)."""
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())[:64]


def format_code(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def _add_years(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, day=28)


def rule_for(attempt: Attempt) -> dict:
    return {**DEFAULT_RULE, **(attempt.assessment.certificate_rule or {})}


def _reaches(scale_name: str, level: str | None, minimum: str | None) -> bool:
    if not minimum:
        return True
    if level is None:
        return False
    scale = level_scale(scale_name)
    return level in scale and minimum in scale and scale.index(level) >= scale.index(minimum)


def certificate_for_attempt(attempt_id: int) -> Certificate | None:
    return db.session.scalar(select(Certificate).where(Certificate.attempt_id == attempt_id))


def issue_for_attempt(attempt: Attempt, *, just_graded: bool = False) -> Certificate | None:
    """Issue the certificate the assessment's rule allows for a graded attempt (idempotent; no commit).

    `just_graded`: the attempt was graded in this transaction, so there is no certificate to look up.
    """
    if attempt.status != "graded" or not attempt.result:
        return None
    existing = None if just_graded else certificate_for_attempt(attempt.id)
    if existing is not None:
        return existing
    rule = rule_for(attempt)
    result = attempt.result
    overall = result.get("overall_level") or attempt.overall_level
    scale = result.get("scale") or attempt.assessment.scale
    if not rule.get("enabled", True) or not _reaches(scale, overall, rule.get("min_overall")):
        return None
    holder: User = db.session.get(User, attempt.user_id)
    issued = attempt.finished_at or utcnow()
    assessment = attempt.assessment
    cert = Certificate(
        code=new_code(),
        attempt_id=attempt.id,
        user_id=holder.id,
        assessment_id=assessment.id,
        institution_id=holder.institution_id,
        holder_name=holder.display_name,
        institution_name=holder.institution.name if holder.institution else "",
        assessment_title_zh=assessment.title_zh,
        assessment_title_en=assessment.title_en,
        scale=scale,
        overall_level=overall,
        levels=[
            {
                "code": d.get("code"),
                "name_zh": d.get("name_zh", ""),
                "name_en": d.get("name_en", ""),
                "level": d.get("level"),
                "range": d.get("range"),
                "class": d.get("class"),
            }
            for d in result.get("dimensions", [])
        ],
        certified={
            "overall_class": result.get("overall_class"),
            "overall_range": result.get("overall_range"),
            "accuracy": ((result.get("accuracy") or {}).get("overall") or {}).get("accuracy"),
        },
        issued_at=issued,
        expires_at=_add_years(issued, int(rule.get("validity_years") or 2)),
    )
    db.session.add(cert)
    db.session.flush()
    audit.record(
        "certificate.issue", "certificate", cert.id, detail={"attempt_id": attempt.id, "level": overall}
    )
    return cert


def status(cert: Certificate, now: datetime | None = None) -> str:
    if cert.revoked_at is not None:
        return "revoked"
    if cert.expires_at <= (now or utcnow()):
        return "expired"
    return "valid"


# What the public sees of a revocation (the reason itself stays internal).
REVOCATION_LABELS = {
    RevocationCategory.ISSUED_IN_ERROR.value: _l("Issued in error"),
    RevocationCategory.MISCONDUCT.value: _l("Assessment rules breached"),
    RevocationCategory.SUPERSEDED.value: _l("Replaced by a newer certificate"),
    RevocationCategory.HOLDER_REQUEST.value: _l("Withdrawn at the holder's request"),
    RevocationCategory.OTHER.value: _l("Other reason"),
}


def find(code: str) -> Certificate:
    """A certificate by its code, or NotFound (the same answer for malformed and unknown codes)."""
    cert = db.session.scalar(select(Certificate).where(Certificate.code == normalise_code(code)))
    if cert is None:
        raise NotFound("certificate_not_found", _("No certificate has this code."))
    return cert


def find_public(code: str, ip: str) -> Certificate:
    """`find` for anyone, without login, limited per address: one that looked up too many unknown codes
    within the window is refused every lookup (429) until its misses age out.

    Only misses count, so checking many genuine certificates is never limited.
    """
    window = timedelta(seconds=current_app.config["VERIFY_WINDOW_SECONDS"])
    since = utcnow() - window
    # The address's counter row is locked until this transaction ends, so concurrent lookups from one
    # address check and record their misses one after another: the limit cannot be overshot.
    rate_limits.locked(f"verify:{ip[:64]}", window.total_seconds())
    misses = db.session.scalar(
        select(func.count())
        .select_from(CertificateLookupMiss)
        .where(CertificateLookupMiss.ip == ip, CertificateLookupMiss.at >= since)
    )
    if misses >= current_app.config["VERIFY_MAX_MISSES"]:
        db.session.rollback()
        raise ServiceError(
            "too_many_lookups",
            _(
                "Too many unknown certificate codes were checked from your address. "
                "Please try again in %(minutes)d minutes.",
                minutes=max(1, round(window.total_seconds() / 60)),
            ),
            "code",
            status=429,
        )
    try:
        cert = find(code)
    except NotFound:
        # Misses older than the window count for no one: dropped as new ones arrive.
        db.session.execute(delete(CertificateLookupMiss).where(CertificateLookupMiss.at < since))
        db.session.add(CertificateLookupMiss(ip=ip[:64]))
        db.session.commit()
        raise
    db.session.commit()  # releases the address's lock
    return cert


def public_view(cert: Certificate, locale: str = "zh_Hans_CN") -> dict:
    """What anyone may see: display name, assessment, levels and dates; nothing else about the holder."""
    english = locale == "en"
    certified = cert.certified or {}
    out = {
        "code": cert.code,
        "status": status(cert),
        "holder": cert.holder_name,
        "assessment": localized(cert, "assessment_title", english),
        "levels": {
            "overall": cert.overall_level,
            "overall_range": certified.get("overall_range"),
            "overall_class": _class_view(certified.get("overall_class"), english),
            "class_accuracy": certified.get("accuracy"),
            "dimensions": [
                {
                    "code": d["code"],
                    "name": localized(d, "name", english),
                    "level": d["level"],
                    "range": d.get("range"),
                    "class": _class_view(d.get("class"), english),
                }
                for d in cert.levels
            ],
        },
        "issued_at": cert.issued_at.isoformat(),
        "expires_at": cert.expires_at.isoformat(),
    }
    if cert.revoked_at is not None:
        # Public: the date and an enumerated category. The free-text reason may name people or
        # circumstances (misconduct, a dispute); it stays with the institution's staff.
        category = cert.revoked_category or RevocationCategory.OTHER.value
        out["revoked_at"] = cert.revoked_at.isoformat()
        out["revocation"] = {"category": category, "label": str(REVOCATION_LABELS[category])}
    return out


def _class_view(found: dict | None, english: bool) -> dict | None:
    if not found:
        return None
    return {"code": found["code"], "name": localized(found, "name", english)}


def can_manage(actor: User, cert: Certificate) -> bool:
    return actor.role == Role.PLATFORM_ADMIN or (
        actor.role == Role.INSTITUTION_ADMIN and actor.institution_id == cert.institution_id
    )


def can_download(actor: User, cert: Certificate) -> bool:
    return actor.id == cert.user_id or can_manage(actor, cert)


def revoke(
    cert: Certificate, reason: str, actor: User, category: str = RevocationCategory.OTHER.value
) -> Certificate:
    """Revoke with a public category and an internal reason; a second revocation is refused so the
    first stays on record."""
    if not can_manage(actor, cert):
        raise NotFound("certificate_not_found", _("No certificate has this code."))
    if category not in REVOCATION_LABELS:
        raise ServiceError("unknown_category", _("Choose one of the listed categories."), "category")
    reason = (reason or "").strip()
    if not reason or len(reason) > 500:
        raise ServiceError(
            "reason_required", _("Give a reason for the revocation (1–500 characters)."), "reason"
        )
    if cert.revoked_at is not None:
        raise ServiceError("already_revoked", _("This certificate is already revoked."), "reason", status=409)
    cert.revoked_at = utcnow()
    cert.revoked_reason = reason
    cert.revoked_category = category
    cert.revoked_by_id = actor.id
    audit.record(
        "certificate.revoke",
        "certificate",
        cert.id,
        actor=actor,
        detail={"reason": reason, "category": category},
    )
    db.session.commit()
    return cert


def held_by(user: User) -> list[Certificate]:
    stmt = select(Certificate).where(Certificate.user_id == user.id).order_by(Certificate.issued_at.desc())
    return list(db.session.scalars(stmt))


def managed_by(actor: User) -> list[Certificate]:
    stmt = select(Certificate).order_by(Certificate.issued_at.desc())
    if actor.role != Role.PLATFORM_ADMIN:
        stmt = stmt.where(Certificate.institution_id == actor.institution_id)
    return list(db.session.scalars(stmt.limit(500)))
