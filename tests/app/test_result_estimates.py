"""Grading reads the answered items from the CAT state; it must agree with the stored responses.

The indicator estimates are computed per dimension in one scoring call (one row per indicator); here
they are recomputed independently, one indicator at a time from the response rows, as the definition
says: EAP from the indicator's own answers with the dimension's θ as the prior mean.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from sqlalchemy import select

from competency.extensions import db
from competency.irt import score as irt_score
from competency.models import Attempt, Response
from competency.services import pools
from tests.app.conftest import answer_for, api_token


def _take(client, headers, assessment_id, right_first: bool) -> int:
    body = client.post("/api/v1/attempts", json={"assessment_id": assessment_id}, headers=headers).get_json()
    item = body["item"]
    while item:
        reply = client.post(
            f"/api/v1/attempts/{body['id']}/responses",
            json={
                "position": item["position"],
                "item_id": item["item_id"],
                "answer": answer_for(item, right_first),
            },
            headers=headers,
        ).get_json()
        item = None if reply["finished"] else reply["item"]
    return body["id"]


def _expected_indicators(attempt: Attempt) -> dict[str, tuple[float, float, int]]:
    pool = pools.pool_items(attempt.assessment)
    rows = db.session.scalars(
        select(Response).where(Response.attempt_id == attempt.id).order_by(Response.position)
    ).all()
    by_node: dict[str, list[Response]] = {}
    for row in rows:
        if not row.pilot:
            by_node.setdefault(pool[row.item_code].node, []).append(row)
    dims = {d["code"]: d["theta"] for d in attempt.result["dimensions"]}
    out = {}
    for node, answered in by_node.items():
        params = [pool[r.item_code].item.irt for r in answered]
        width = max(len(p.thresholds or []) for p in params)
        arrays = {
            "a": [p.a for p in params],
            "b": [math.nan if p.b is None else p.b for p in params],
            "c": [p.c or 0.0 for p in params],
        }
        if width:
            arrays["thresholds"] = [
                list(p.thresholds or []) + [math.nan] * (width - len(p.thresholds or [])) for p in params
            ]
        dim = pool[answered[0].item_code].dimension
        theta, se = irt_score(
            np.array([[r.score for r in answered]], dtype=float),
            arrays,
            model=[str(p.model) for p in params],
            method="eap",
            prior_mean=dims.get(dim, 0.0),
            prior_sd=1.0,
        )
        out[node] = (float(theta[0]), float(se[0]), len(answered))
    return out


@pytest.mark.parametrize("right_first", [True, False])
def test_grading_agrees_with_the_stored_responses(client, make_user, teacher_assessment, right_first):
    make_user("teacher", "wang")
    headers = {"Authorization": f"Bearer {api_token(client, 'wang')}"}
    attempt_id = _take(client, headers, teacher_assessment.id, right_first)
    db.session.expire_all()
    attempt = db.session.get(Attempt, attempt_id)
    assert attempt.status == "graded"

    stored = db.session.scalars(
        select(Response.item_code).where(Response.attempt_id == attempt_id).order_by(Response.position)
    ).all()
    assert attempt.state["administered"] == list(stored)

    expected = _expected_indicators(attempt)
    measured = {ind["code"]: ind for ind in attempt.result["indicators"] if ind["theta"] is not None}
    assert set(measured) == set(expected)
    for code, (theta, se, items) in expected.items():
        assert measured[code]["theta"] == pytest.approx(round(theta, 4), abs=1e-4)
        assert measured[code]["se"] == pytest.approx(round(se, 4), abs=1e-4)
        assert measured[code]["items"] == items

    pool = pools.pool_items(attempt.assessment)
    per_dimension: dict[str, int] = {}
    for code in stored:
        if not pool[code].pilot:
            per_dimension[pool[code].dimension] = per_dimension.get(pool[code].dimension, 0) + 1
    assert {d["code"]: d["items"] for d in attempt.result["dimensions"]} == {
        d["code"]: per_dimension.get(d["code"], 0) for d in attempt.result["dimensions"]
    }
