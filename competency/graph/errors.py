"""Validation problems and the exception that carries all of them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong in a data file: where (file, node, field) and what."""

    file: str
    node: str | None
    field: str | None
    message: str

    def to_dict(self) -> dict[str, str | None]:
        return {"file": self.file, "node": self.node, "field": self.field, "message": self.message}

    def __str__(self) -> str:
        where = ": ".join(part for part in (self.file, self.node, self.field) if part)
        return f"{where}: {self.message}"


class MapValidationError(ValueError):
    """Raised when data files are refused; ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{len(self.problems)} problem(s) in graph data:\n{lines}")
