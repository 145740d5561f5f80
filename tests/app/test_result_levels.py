"""A graded result's levels are written as rows in the grading transaction, and follow a re-grade."""

from __future__ import annotations

from sqlalchemy import select

from competency.extensions import db
from competency.models import Attempt, ResultLevel
from competency.services.result_levels import rows_for
from tests.app.conftest import pending_answer, post_answer


def _levels(attempt_id: int) -> dict[tuple[str, str], str | None]:
    rows = db.session.execute(
        select(ResultLevel.kind, ResultLevel.code, ResultLevel.level).where(
            ResultLevel.attempt_id == attempt_id
        )
    )
    return {(kind, code): level for kind, code, level in rows}


def test_the_answer_that_ends_a_test_writes_its_levels(client, started):
    token, body = started
    item = body["item"]
    while True:
        response = post_answer(client, token, body["id"], pending_answer(item)).get_json()
        if response["finished"]:
            break
        item = response["item"]
    attempt = db.session.get(Attempt, body["id"])
    assert attempt.status == "graded"
    expected = {(r["kind"], r["code"]): r["level"] for r in rows_for(attempt.id, attempt.result)}
    assert _levels(attempt.id) == expected
    assert expected[("o", "overall")] == attempt.result["overall_level"]
    assert any(kind == "d" for kind, _code in expected)
    # A re-grade replaces the rows; an attempt that is no longer graded keeps none.
    attempt.result = {**attempt.result, "overall_level": "P0", "dimensions": [], "indicators": []}
    db.session.commit()
    assert _levels(attempt.id) == {("o", "overall"): "P0"}
    attempt.status, attempt.result = "insufficient", {"overall_level": None}
    db.session.commit()
    assert _levels(attempt.id) == {}
