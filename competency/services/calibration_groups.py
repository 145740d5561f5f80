"""Consented fairness-profile answers: the person's own form, and the groups calibration compares.

The answers are optional and need the person's explicit consent; they are shown to nobody but the
person. Calibration reads them only to form reference/focal groups for DIF and reports counts and
per-item statistics, never a person.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from flask_babel import gettext as _
from sqlalchemy import select

from competency.extensions import db
from competency.models import (
    FAIRNESS_FIELDS,
    GENDERS,
    MAJOR_CATEGORIES,
    REGIONS,
    FairnessProfile,
    InstitutionType,
    User,
    utcnow,
)
from competency.services import audit
from competency.services.errors import ServiceError

ALLOWED = {
    "gender": GENDERS,
    "institution_type": tuple(t.value for t in InstitutionType),
    "region": REGIONS,
    "major_category": MAJOR_CATEGORIES,
}
# A group smaller than this (in either arm) is not compared: too few to say anything, and too few
# to keep a person's answer from being guessed from a group statistic.
MIN_GROUP = 100


def own_profile(user: User) -> FairnessProfile | None:
    return db.session.get(FairnessProfile, user.id)


def save_own(user: User, consent: bool, answers: dict[str, str | None]) -> None:
    """Store the person's answers with their consent; without consent every answer is deleted."""
    row = own_profile(user)
    if not consent:
        if row is not None:
            db.session.delete(row)
            audit.record("user.fairness_profile", "user", user.id, actor=user, detail={"consent": False})
            db.session.commit()
        return
    clean: dict[str, str | None] = {}
    for field in FAIRNESS_FIELDS:
        value = (answers.get(field) or "").strip() or None
        if value is not None and value not in ALLOWED[field]:
            raise ServiceError("invalid_choice", _("Choose one of the listed answers."), field)
        clean[field] = value
    if row is None:
        row = FairnessProfile(user_id=user.id)
        db.session.add(row)
    if not row.consent:
        row.consented_at = utcnow()
    row.consent = True
    for field, value in clean.items():
        setattr(row, field, value)
    # The audit record says that the answers changed, never what they are.
    audit.record("user.fairness_profile", "user", user.id, actor=user, detail={"consent": True})
    db.session.commit()


@dataclass(frozen=True)
class Grouping:
    """One comparison: ``code`` is e.g. "gender:female"; focal = that answer, reference = the others
    who answered the same question (for gender: female against male)."""

    field: str
    value: str
    reference: str  # "rest" or the reference answer

    @property
    def code(self) -> str:
        return f"{self.field}:{self.value}"


def groupings() -> list[Grouping]:
    """Gender compares female (focal) with male; every other field compares each answer with the rest."""
    out = [Grouping("gender", "female", "male")]
    for field in ("institution_type", "region", "major_category"):
        out.extend(Grouping(field, value, "rest") for value in ALLOWED[field])
    return out


def answers_by_user(user_ids) -> dict[int, dict[str, str | None]]:
    """Consented answers of these people (for aggregate use inside a calibration run only)."""
    ids = sorted({int(u) for u in user_ids})
    out: dict[int, dict[str, str | None]] = {}
    for lo in range(0, len(ids), 5000):
        rows = db.session.scalars(
            select(FairnessProfile).where(
                FairnessProfile.user_id.in_(ids[lo : lo + 5000]), FairnessProfile.consent.is_(True)
            )
        )
        for row in rows:
            out[row.user_id] = {f: getattr(row, f) for f in FAIRNESS_FIELDS}
    return out


def group_vectors(attempt_users: np.ndarray) -> list[tuple[Grouping, np.ndarray]]:
    """Per grouping, a vector over the attempts: 0 reference, 1 focal, −1 not in the comparison.

    Only comparisons with at least MIN_GROUP attempts in each arm are returned.
    """
    answers = answers_by_user(attempt_users.tolist())
    out = []
    for grouping in groupings():
        vec = np.full(len(attempt_users), -1, dtype=np.int8)
        for k, uid in enumerate(attempt_users.tolist()):
            value = answers.get(int(uid), {}).get(grouping.field)
            if value is None:
                continue
            if value == grouping.value:
                vec[k] = 1
            elif grouping.reference == "rest" or value == grouping.reference:
                vec[k] = 0
        if min(int(np.sum(vec == 0)), int(np.sum(vec == 1))) >= MIN_GROUP:
            out.append((grouping, vec))
    return out
