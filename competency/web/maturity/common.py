"""What every maturity page shares: the blueprint, who may do what, the bilingual text of model entries,
the round a page is about, and how a refused request is shown."""

from __future__ import annotations

from flask import Blueprint, abort, flash
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from competency.bilingual import localized
from competency.maturity import maturity_model
from competency.models import Role
from competency.services import maturity_access
from competency.services.errors import NotFound, ServiceError
from competency.web.i18n import select_locale

bp = Blueprint("maturity", __name__, url_prefix="/maturity")

MANAGERS = (Role.PLATFORM_ADMIN.value, Role.INSTITUTION_ADMIN.value, Role.PROGRAMME_OFFICER.value)
VIEWERS = MANAGERS + (Role.EXPERT.value,)
STAFF = (Role.PLATFORM_ADMIN.value, Role.PROGRAMME_OFFICER.value)
EXPERTS = (Role.EXPERT.value,)
# Objective evidence is the institution's own statement; programme officers read it, they do not write it.
EVIDENCE_ENTRY = (Role.PLATFORM_ADMIN.value, Role.INSTITUTION_ADMIN.value)
REVIEW_LABELS = {"pending": _l("Waiting for review"), "accepted": _l("Accepted"), "rejected": _l("Rejected")}


def tr(obj, key: str = "name") -> str:
    """The current language's text of a model entry (``name_zh`` / ``name_en`` and the like)."""
    return localized(obj, key, select_locale() == "en")


def group_names(type_code: str) -> dict[str, str]:
    return {g["code"]: tr(g) for g in maturity_model().groups_for(type_code)}


def round_or_404(round_id: int, manage: bool = False):
    """The round a page is about, if the caller may see it (or manage it); 404 otherwise."""
    try:
        return maturity_access.round_for(round_id, current_user, manage=manage)
    except NotFound:
        abort(404)


def flash_refusal(exc: ServiceError, form=None) -> None:
    """Show a service's refusal as a message, and on the form field it names."""
    field = getattr(form, exc.field, None) if form is not None and exc.field else None
    if field is not None and hasattr(field, "errors"):
        field.errors = list(field.errors) + [exc.message]
    flash(exc.message, "error")
