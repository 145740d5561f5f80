"""The password rule: long enough, not common, not about the person or the platform, not invisible.

A password is first NFKC-normalised (so full-width ``ａｂｃ`` and ``abc`` are the same password) and
that normalised form is what is hashed and later checked. Then it is refused when:

* it is shorter than ``PASSWORD_MIN_LENGTH`` characters, counting no invisible format characters
  (zero-width spaces and joiners);
* it is nothing but whitespace and invisible characters, or contains control characters;
* it uses fewer than 4 different characters (``aaaaaaaaaa``, ``ababababab``), is one run up or down
  the alphabet or the digits (``abcdefghij``, ``9876543210``) or repeats a short unit;
* it is on the list of common passwords (``data/common_passwords.txt``), also after stripping digits
  and symbols from its ends (``password123!``);
* it contains a context word of 4 or more characters, or equals one: the person's user name and
  display name, the institution's name and the platform's names.

Follows NIST SP 800-63B §5.1.1.2 (length and a blocklist of common, expected or compromised values;
no composition rules, no periodic expiry).
"""

from __future__ import annotations

import unicodedata
from functools import cache
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _

from competency.services.errors import ServiceError

PLATFORM_WORDS = ("competency", "数字素养", "数字素养测评", "测评平台", "digital literacy", "shuzisuyang")
_MIN_DISTINCT = 4
_CONTEXT_MIN = 4


def normalise(password: str) -> str:
    return unicodedata.normalize("NFKC", password or "")


@cache
def common_passwords() -> frozenset[str]:
    path = Path(__file__).with_name("data") / "common_passwords.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().casefold() for line in lines if line.strip() and not line.startswith("#"))


def _visible(text: str) -> str:
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def _is_run(text: str) -> bool:
    steps = {ord(b) - ord(a) for a, b in zip(text, text[1:], strict=False)}
    return len(steps) == 1 and steps <= {1, -1}


def _repeats_unit(text: str) -> bool:
    for size in range(1, len(text) // 2 + 1):
        unit = text[:size]
        if (unit * (len(text) // size + 1))[: len(text)] == text:
            return True
    return False


def _core(text: str) -> str:
    """The password without digits and symbols at its ends: "password123!" → "password"."""
    return text.strip("0123456789!@#$%^&*()_+-=.,;:?~`'\"[]{}<>/\\| ")


def problem(password: str, context: tuple[str, ...] = ()) -> str | None:
    """The first reason the password is refused, for people; None when it is acceptable."""
    text = normalise(password)
    visible = _visible(text)
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        return _("The password may not contain control characters.")
    if not visible.strip():
        return _("The password may not be only spaces or invisible characters.")
    if len(visible) < minimum:
        return _("The password must have at least %(minimum)s characters.", minimum=minimum)
    folded = visible.casefold()
    if len(set(folded)) < _MIN_DISTINCT or _is_run(folded) or _repeats_unit(folded):
        return _("The password is too predictable (repeated characters or a simple sequence).")
    common = common_passwords()
    if folded in common or _core(folded) in common or folded.replace(" ", "") in common:
        return _("This password is among the most commonly used; choose another.")
    for word in (*context, *PLATFORM_WORDS):
        word = normalise(word).casefold().strip()
        if not word:
            continue
        if folded == word or (len(word) >= _CONTEXT_MIN and word in folded):
            return _(
                "The password may not contain your user name, your name, your institution or the platform's name."
            )
    return None


def check(password: str, context: tuple[str, ...] = ()) -> None:
    """Raise ServiceError (field ``password``) when the password breaks the rule."""
    reason = problem(password, context)
    if reason:
        raise ServiceError("weak_password", reason, "password")
