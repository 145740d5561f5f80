"""A graded result's levels as rows (ResultLevel), kept in step with the result in the same transaction.

Grading writes ``Attempt.result``; a flush hook turns a changed result into rows, so every way of
grading (the answer that ends a test, a timeout, a re-grade) keeps them without each one knowing.
"""

from __future__ import annotations

from sqlalchemy import delete, event, insert
from sqlalchemy.orm import Session, attributes

from competency.models import Attempt, ResultLevel


def rows_for(attempt_id: int, result: dict | None) -> list[dict]:
    if not result:
        return []
    rows = {("o", "overall"): result.get("overall_level")}
    for kind, key in (("d", "dimensions"), ("i", "indicators")):
        for entry in result.get(key) or []:
            if entry.get("code"):
                rows[(kind, str(entry["code"])[:32])] = entry.get("level")
    return [{"attempt_id": attempt_id, "kind": k, "code": c, "level": lv} for (k, c), lv in rows.items()]


def _after_flush(session: Session, _context) -> None:
    changed = [
        obj
        for obj in (*session.new, *session.dirty)
        if isinstance(obj, Attempt) and attributes.get_history(obj, "result").has_changes()
    ]
    if not changed:
        return
    connection = session.connection()
    connection.execute(delete(ResultLevel).where(ResultLevel.attempt_id.in_([a.id for a in changed])))
    rows = [row for a in changed if a.status == "graded" for row in rows_for(a.id, a.result)]
    if rows:
        connection.execute(insert(ResultLevel), rows)


def install() -> None:
    """Listen on every ORM session (idempotent)."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
