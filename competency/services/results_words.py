"""Plain words for a result: a level with its uncertainty, and why an attempt got no level.

Shared by the result page, the API and the certificate, so a person reads the same sentence
everywhere. Everything here only formats the stored result; grading decides (services/results.py).
"""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import force_locale
from flask_babel import gettext as _

from competency.bilingual import localized


def level_words(level: str | None, span: list[str] | None) -> str:
    """"L4, most likely between L3 and L5" — or "L4, most likely within this level"."""
    if not level:
        return _("no level (not enough evidence)")
    if not span or span[0] == span[1]:
        return _("%(level)s, most likely within this level", level=level)
    return _("%(level)s, most likely between %(low)s and %(high)s", level=level, low=span[0], high=span[1])


def accuracy_words(result: Mapping) -> str | None:
    """How often the reported class was right in the publishing simulation, as a share of people."""
    overall = ((result.get("accuracy") or {}).get("overall")) or None
    if not overall:
        return None
    return _(
        "In the simulation run when this test was published, about %(n)d of 100 people got the class "
        "of their true level.",
        n=round(100 * float(overall["accuracy"])),
    )


def overall_words(result: Mapping, locale: str | None = None) -> str | None:
    """The overall level, its likely range and the certified class, in one or two sentences."""
    if result.get("status") == "insufficient_evidence" or not result.get("overall_level"):
        return None
    with _locale(locale):
        found = result.get("overall_class") or {}
        name = localized(found, "name", (locale or "").startswith("en"))
        parts = [level_words(result["overall_level"], result.get("overall_range"))]
        if found and len(found.get("levels", [])) > 1:
            parts.append(_("certified class: %(code)s %(name)s", code=found["code"], name=name))
        accuracy = accuracy_words(result)
        return _("; ").join(parts) + (_(". ") + accuracy if accuracy else "")


def insufficient_message(result: Mapping, locale: str | None = None) -> str:
    """Why an attempt has no level: how many answers it had and how many it needed."""
    with _locale(locale):
        needed = result.get("min_evidence") or {}
        short = []
        for code in result.get("missing", []):
            kind, *rest = code.split(":")
            if kind == "dimension":
                dim, count = rest[0], rest[1]
                have, need = count.split("/")
                short.append(_("%(dim)s: %(have)s of %(need)s", dim=_dimension_name(result, dim, locale),
                               have=have, need=need))
        message = _(
            "Too few answers for a reliable level: %(answered)d answered, at least %(total)d needed. "
            "No level, certificate or plan was given, and this attempt does not count against your "
            "attempts: you can take the test again.",
            answered=int(result.get("items_answered") or 0),
            total=int(needed.get("total") or 0),
        )
        if short:
            message += " " + _("Too few answers in: %(list)s.", list=", ".join(short))
        return message


def _dimension_name(result: Mapping, code: str, locale: str | None) -> str:
    for d in result.get("dimensions", []):
        if d["code"] == code:
            return localized(d, "name", (locale or "").startswith("en"))
    return code


class _locale:
    """force_locale when a locale is given (the API answers in the caller's language)."""

    def __init__(self, locale: str | None) -> None:
        self.inner = force_locale(locale) if locale else None

    def __enter__(self):
        return self.inner.__enter__() if self.inner else None

    def __exit__(self, *exc):
        return self.inner.__exit__(*exc) if self.inner else False

