"""`translate` commands: extract, update, compile and check the message catalogs."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = Path(__file__).resolve().parent / "translations"
POT = TRANSLATIONS / "messages.pot"
LOCALES = ("zh_Hans_CN", "en")


def _pybabel(*args: str) -> None:
    CommandLineInterface().run(["pybabel", "-q", *args])


def missing_translations(locale: str = "zh_Hans_CN") -> list[str]:
    """msgids of the template that the locale's catalog leaves untranslated or fuzzy."""
    with open(POT, "rb") as fh:
        template = read_po(fh)
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "rb") as fh:
        catalog = read_po(fh, locale=locale)
    missing = []
    for message in template:
        if not message.id:
            continue
        found = catalog.get(message.id, message.context)
        strings = found.string if found is not None else None
        empty = not strings or (isinstance(strings, tuple) and not all(strings))
        if found is None or empty or found.fuzzy:
            missing.append(message.id if isinstance(message.id, str) else message.id[0])
    return missing


@click.group("translate")
def translate_group() -> None:
    """Maintain the zh_Hans_CN and en message catalogs."""


@translate_group.command("extract")
def extract() -> None:
    """Collect the translatable strings into messages.pot."""
    _pybabel(
        "extract",
        "-F",
        str(ROOT / "babel.cfg"),
        "-k",
        "_l",
        "--no-location",
        "--sort-output",
        "-o",
        str(POT),
        str(ROOT),
    )


@translate_group.command("update")
def update() -> None:
    """Merge messages.pot into every catalog."""
    _pybabel("update", "-i", str(POT), "-d", str(TRANSLATIONS), "--no-fuzzy-matching", "--ignore-obsolete")


@translate_group.command("compile")
def compile_catalogs() -> None:
    """Compile the catalogs into .mo files."""
    _pybabel("compile", "-d", str(TRANSLATIONS), "--use-fuzzy")


@translate_group.command("check")
def check() -> None:
    """Fail when a string lacks its Chinese translation."""
    missing = missing_translations("zh_Hans_CN")
    for msgid in missing:
        click.echo(f"untranslated: {msgid}", err=True)
    if missing:
        sys.exit(1)
    click.echo("every string has a Chinese translation")
