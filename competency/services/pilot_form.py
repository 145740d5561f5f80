"""The fields of the application form (申报表), the ten key industries, and the completeness check."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from competency import graph
from competency.bilingual import localized
from competency.models import InstitutionType


@dataclass(frozen=True)
class Field:
    key: str
    label: object  # a lazy translated string
    section: str
    long: bool = False


SECTIONS = {
    "unit": _l("Unit information"),
    "plan": _l("Development plan"),
    "base": _l("Base conditions"),
    "projects": _l("Project experience"),
    "guarantee": _l("Operating guarantees"),
    "contact": _l("Contact"),
}

FIELDS: tuple[Field, ...] = (
    Field("unit_name", _l("Unit name"), "unit"),
    Field("unit_address", _l("Address"), "unit"),
    Field("legal_representative", _l("Legal representative"), "unit"),
    Field("institution_type", _l("Institution type"), "unit"),
    Field("industries", _l("Focus industries"), "unit"),
    Field("development_plan", _l("Development plan and positioning"), "plan", long=True),
    Field("base_site", _l("Sites (training rooms, area)"), "base", long=True),
    Field("base_equipment", _l("Equipment"), "base", long=True),
    Field("base_textbooks", _l("Digital textbooks"), "base", long=True),
    Field("base_videos", _l("Video materials"), "base", long=True),
    Field("base_courses", _l("Online courses"), "base", long=True),
    Field("projects", _l("Industry–education projects"), "projects"),
    Field("guarantee_management", _l("Management system"), "guarantee", long=True),
    Field("guarantee_operation", _l("Operating mechanism"), "guarantee", long=True),
    Field("contact_name", _l("Contact person"), "contact"),
    Field("contact_phone", _l("Contact phone"), "contact"),
    Field("contact_email", _l("Contact e-mail"), "contact"),
)
FIELD_BY_KEY = {f.key: f for f in FIELDS}
FIELD_KEYS = tuple(f.key for f in FIELDS)
PROJECT_ROWS = 3  # rows offered on the form; at least one complete row is required

ATTACHMENT_KINDS = {
    "stamped_scan": _l("Stamped application form (scan, PDF)"),
    "supporting": _l("Supporting document (PDF or Word)"),
}
ELIGIBLE_TYPES = (
    InstitutionType.APPLIED_UNIVERSITY.value,
    InstitutionType.HIGHER_VOCATIONAL.value,
    InstitutionType.SECONDARY_VOCATIONAL.value,
    InstitutionType.TECHNICIAN_COLLEGE.value,
    InstitutionType.ENTERPRISE.value,
)


def industries() -> list:
    """The ten key digital industries, from the job-profile data (one source for the whole platform)."""
    return graph.industries()


def industry_name(code: str, locale: str = "zh_Hans_CN") -> str:
    for ind in graph.industries():
        if ind.code == code:
            return localized(ind, "name", locale == "en")
    return code


def _filled(value) -> bool:
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list):
        return bool(value)
    return value is not None


def complete_projects(projects) -> list[dict]:
    return [
        p
        for p in (projects or [])
        if isinstance(p, dict) and all(_filled(p.get(k)) for k in ("partner", "period", "outcomes"))
    ]


def missing_fields(form: dict, required: list[str]) -> list[str]:
    """Keys of the required fields that are empty (a project row counts only when all its parts are filled)."""
    missing = []
    for key in required:
        if key == "projects":
            if not complete_projects(form.get("projects")):
                missing.append(key)
        elif not _filled(form.get(key)):
            missing.append(key)
    return missing
