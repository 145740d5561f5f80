"""Person fit (Snijders' lz*) of graded attempts, for managers only.

An answer pattern that the model finds very unlikely for the person's own estimated level (easy items
wrong and hard items right, or answers unrelated to difficulty) may come from random clicking, from
having seen questions before, from misreading or from a disturbed sitting. Managers (trainers and
admins) see a flag with these words beside a cohort's results; the person is never shown it, and it
is computed on request from the stored answers and the frozen parameters, never stored with a result.

Per dimension, lz* is computed from the dimension's dichotomous answers with the WLE of θ
(irt.fit_sparse.lz_star); the dimensions are combined by Stouffer's sum lz*/√D. A pattern is flagged
when the combined lower-tail p is below ALPHA, so about 1 in 100 ordinary patterns is flagged by chance.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm
from sqlalchemy import select

from competency.extensions import db
from competency.irt.fit_sparse import lz_star
from competency.models import Assessment, Attempt, Response
from competency.services import pools

ALPHA = 0.01
DICHOTOMOUS = ("rasch", "1pl", "2pl", "3pl")
MIN_ANSWERS = 5  # per dimension: fewer dichotomous answers say nothing about a pattern


@dataclass(frozen=True)
class PersonFit:
    attempt_id: int
    lz: float  # combined lz* (Stouffer); negative = less likely than expected
    p_value: float
    flagged: bool
    answers: int


def for_attempts(attempt_ids: list[int]) -> dict[int, PersonFit]:
    """lz* of each graded attempt (attempts with too few dichotomous answers are left out)."""
    if not attempt_ids:
        return {}
    attempts = db.session.execute(
        select(Attempt.id, Attempt.assessment_id).where(
            Attempt.id.in_(attempt_ids), Attempt.status == "graded"
        )
    ).all()
    answers: dict[int, dict[str, int]] = defaultdict(dict)
    rows = db.session.execute(
        select(Response.attempt_id, Response.item_code, Response.score).where(
            Response.attempt_id.in_([a for a, _ in attempts]), Response.pilot.is_(False)
        )
    )
    for attempt_id, code, score in rows:
        answers[attempt_id][code] = score
    scoring: dict[int, dict] = {}
    out = {}
    for attempt_id, assessment_id in attempts:
        if assessment_id not in scoring:
            scoring[assessment_id] = pools.scoring_items(
                db.session.get_one(Assessment, assessment_id)
            )
        fit = _one(attempt_id, answers.get(attempt_id, {}), scoring[assessment_id])
        if fit is not None:
            out[attempt_id] = fit
    return out


def _one(attempt_id: int, answered: dict[str, int], by_dim: dict) -> PersonFit | None:
    values, used = [], 0
    for entry in by_dim.values():
        params = entry.items.to_params()
        models = list(entry.items.models)
        cols = [
            (code, j)
            for code, j in entry.column.items()
            if code in answered and models[j] in DICHOTOMOUS and answered[code] in (0, 1)
        ]
        if len(cols) < MIN_ANSWERS:
            continue
        idx = [j for _c, j in cols]
        sub = {k: np.asarray(params[k])[idx] for k in ("a", "b", "c") if k in params}
        row = np.array([[float(answered[c]) for c, _j in cols]])
        res = lz_star(row, sub, [models[j] for j in idx], method="wle")
        lz = float(res["lz_star"][0])
        if math.isfinite(lz):
            values.append(lz)
            used += len(cols)
    if not values:
        return None
    combined = sum(values) / math.sqrt(len(values))
    p = float(norm.cdf(combined))
    return PersonFit(attempt_id, round(combined, 2), p, p < ALPHA, used)


def for_assignment(assignment, user_ids: list[int]) -> dict[int, PersonFit]:
    """User id → person fit of the attempt a cohort's results page shows for them (one query)."""
    from competency.services.cohort_results import chosen_attempts

    if not user_ids:
        return {}
    graded = chosen_attempts(assignment, graded=True)
    pairs = db.session.execute(
        select(graded.c.user_id, graded.c.attempt_id).where(graded.c.user_id.in_(user_ids))
    ).all()
    fits = for_attempts([a for _u, a in pairs])
    return {u: fits[a] for u, a in pairs if a in fits}
