"""Import problems and the raw records that format readers hand to validation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ImportProblem:
    """One thing wrong with an import: file, place in it ("row 7", "line 12", "item 3 (T-1)"), field."""

    source: str
    location: str
    field: str
    message: str

    def __str__(self) -> str:
        where = ", ".join(part for part in (self.source, self.location) if part)
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class BankImportError(ValueError):
    """The import was refused as a whole; ``problems`` lists every problem found."""

    def __init__(self, problems: Sequence[ImportProblem]) -> None:
        self.problems: tuple[ImportProblem, ...] = tuple(problems)
        lines = [f"{len(self.problems)} problem(s); nothing was imported:"]
        lines += [f"  - {p}" for p in self.problems]
        super().__init__("\n".join(lines))


@dataclass
class RawItem:
    """An item as read from a file, before validation.

    ``labels`` maps a field path used by validation ("irt.a", "options[2].text") to the name the
    author sees in that format (CSV column "irt_a", "option_C"), so problems name what they edit.
    """

    location: str
    data: dict[str, Any]
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass
class RawBank:
    """What a format reader found: raw items plus problems it met while reading."""

    source: str
    bank: str | None = None
    items: list[RawItem] = field(default_factory=list)
    problems: list[ImportProblem] = field(default_factory=list)

    def problem(self, location: str, field_name: str, message: str) -> None:
        self.problems.append(ImportProblem(self.source, location, field_name, message))
