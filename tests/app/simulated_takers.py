"""Simulated test takers with known θ answering through the JSON API, answers drawn from the items' models.

Used by the grades test in the suite (few takers) and by benchmarks/bench_grades.py (many).
"""

from __future__ import annotations

from itertools import combinations, permutations

import numpy as np

from competency import graph
from competency.extensions import db
from competency.irt import classification
from competency.models import Assessment, Item
from competency.services import grading
from competency.services.items import current_params, to_schema
from competency.tests_bank.scoring import score_answer


def _probabilities(params, theta: float) -> np.ndarray:
    """P(category k | θ) for k = 0..K−1 in the platform's IRT form (logistic, D = 1)."""
    if params.model == "grm":
        b = np.asarray(params.thresholds, dtype=float)
        above = 1 / (1 + np.exp(-params.a * (theta - b)))
        cum = np.concatenate(([1.0], above, [0.0]))
        return cum[:-1] - cum[1:]
    c = params.c or 0.0
    p = c + (1 - c) / (1 + np.exp(-params.a * (theta - params.b)))
    return np.array([1 - p, p])


class Taker:
    """Draws each answer from the item's model at the taker's true θ on the item's dimension."""

    def __init__(self, assessment: Assessment, theta: dict[str, float], rng: np.random.Generator) -> None:
        self.theta, self.rng = theta, rng
        self.items = {
            row.code: row for row in db.session.scalars(select_items(assessment)).all()
        }
        tree = graph.teacher_map() if assessment.scale == "teacher" else graph.student_indicators()
        from competency.services.assessment_definitions import dimension_for

        self.dimension = {
            code: (dimension_for(assessment, row.node, tree) if len(assessment.dimensions) > 1
                   else assessment.dimensions[0])
            for code, row in self.items.items()
        }

    def answer(self, delivered: dict):
        row = self.items[delivered["item_id"]]
        params = current_params(row)
        item = to_schema(row, params)
        probs = _probabilities(params, self.theta[self.dimension[row.code]])
        category = int(self.rng.choice(len(probs), p=probs / probs.sum()))
        keys = [o["key"] for o in delivered["options"]]
        candidates = _answers(delivered["type"], keys)
        scored = [(answer, score_answer(item, answer)) for answer in candidates]
        fitting = [answer for answer, score in scored if score == category]
        if not fitting:  # the closest score the item can give
            best = min(abs(score - category) for _a, score in scored)
            fitting = [answer for answer, score in scored if abs(score - category) == best]
        return fitting[int(self.rng.integers(len(fitting)))]


def select_items(assessment: Assessment):
    from sqlalchemy import select

    return select(Item).where(Item.code.in_([entry["code"] for entry in assessment.pool]))


def _answers(kind: str, keys: list[str]) -> list:
    if kind == "sequence":
        return [list(order) for order in permutations(keys)]
    if kind == "truefalse":
        return [True, False]
    if kind == "multiple":  # every non-empty choice of options, so that every score is reachable
        return [list(chosen) for size in range(1, len(keys) + 1) for chosen in combinations(keys, size)]
    return list(keys)


def run_takers(client, headers_for, assessment: Assessment, thetas: np.ndarray, seed: int = 0) -> dict:
    """Every taker (one row of true θs per dimension) takes the test through the API; returns the
    true and reported classes, lengths and results."""
    rng = np.random.default_rng(seed)
    frame = grading.ReportFrame.of(assessment)
    codes = frame.codes
    dim_cuts = [frame.dimension_cuts(d) for d in range(len(codes))]
    to_class = frame.level_to_class
    true_classes = frame.overall_classes(thetas)
    out = {"lengths": [], "dim_true": [], "dim_given": [], "overall_true": [], "overall_given": [], "results": []}
    for i, row in enumerate(thetas):
        headers = headers_for(i)
        taker = Taker(assessment, dict(zip(codes, row, strict=True)), rng)
        body = client.post("/api/v1/attempts", json={"assessment_id": assessment.id}, headers=headers).get_json()
        item = body["item"]
        answered = 0
        while True:
            payload = {"position": item["position"], "item_id": item["item_id"], "answer": taker.answer(item)}
            response = client.post(f"/api/v1/attempts/{body['id']}/responses", json=payload, headers=headers)
            assert response.status_code == 200, response.get_json()
            answered += 1
            data = response.get_json()
            if data["finished"]:
                break
            item = data["item"]
        result = client.get(f"/api/v1/attempts/{body['id']}/result", headers=headers).get_json()
        out["results"].append(result)
        out["lengths"].append(answered)
        by_code = {d["code"]: d for d in result["dimensions"]}
        out["dim_true"].append([int(classification.classify([row[d]], dim_cuts[d])[0]) for d in range(len(codes))])
        out["dim_given"].append(
            [int(classification.classify([by_code[c]["theta"]], dim_cuts[d])[0]) for d, c in enumerate(codes)]
        )
        out["overall_true"].append(int(true_classes[i]))
        given = result["overall_level"]
        out["overall_given"].append(int(to_class[frame.scale.index(given)]) if given else -1)
    return out


def accuracies(run: dict) -> tuple[list[float], float]:
    dim_true, dim_given = np.array(run["dim_true"]), np.array(run["dim_given"])
    per_dim = [classification.simulated(dim_true[:, d], dim_given[:, d]) for d in range(dim_true.shape[1])]
    return per_dim, classification.simulated(run["overall_true"], run["overall_given"])
