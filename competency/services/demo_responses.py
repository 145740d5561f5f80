"""Simulated live responses for the calibration demo (labelled as simulated everywhere they show).

3,000 simulated teachers of a separate demo institution ("模拟数据（校准演示）", accounts inactive, user
names ``sim-…``) each have one graded attempt of TDL-2026 with seven items per dimension, answers drawn
from the items' own models with θ ~ N(0, R), R = 0.5 between dimensions. Two findings are planted so
the review screen has something real to find:

* one DIF item: for women (consented gender answer "female") it is 1.2 logits harder than for men of
  the same ability;
* one drifting item: every simulated person answers it as if its difficulty were 0.9 logits higher
  than its current parameters say.

Everything is generated as arrays and written in bulk (COPY on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import numpy as np
from sqlalchemy import func, select

from competency.extensions import db
from competency.models import (
    Assessment,
    Attempt,
    FairnessProfile,
    Institution,
    Response,
    User,
    utcnow,
)
from competency.services import pools
from competency.services.accounts import _dummy_hash
from competency.services.bulk_rows import reserve_ids as _reserve_ids
from competency.services.bulk_rows import write as _write

INSTITUTION = "模拟数据（校准演示）"
ASSESSMENT = "TDL-2026"
PREFIX = "sim-"
TRUE_RHO = 0.5
PER_DIMENSION = 7
DIF_SHIFT = 1.2  # logits harder for the focal group (women)
DRIFT_SHIFT = 0.9  # logits harder than the current parameters for everyone


def simulated_attempts(assessment_id: int) -> int:
    """Graded attempts of the assessment by simulated demo accounts (shown as such on review pages)."""
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(Attempt)
            .join(User, User.id == Attempt.user_id)
            .join(Institution, Institution.id == User.institution_id)
            .where(Attempt.assessment_id == assessment_id, Institution.name == INSTITUTION)
        )
        or 0
    )


def planted(pool) -> tuple[str, str]:
    """The DIF item (T2) and the drifting item (T4): each dimension's 2PL operational item with the
    median difficulty, so both have plenty of informative responses and no guessing to hide a shift."""
    picks = []
    for dim in ("T2", "T4"):
        rows = sorted(
            (p.item.irt.b, code)
            for code, p in pool.items()
            if p.dimension == dim and not p.pilot and p.item.irt.model == "2pl"
        )
        picks.append(rows[len(rows) // 2][1])
    return picks[0], picks[1]


def _probabilities(irt, theta: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """Category probabilities (n, K) of one item for abilities ``theta`` with difficulty shifts."""
    if irt.model in ("2pl", "3pl"):
        c = irt.c or 0.0
        p1 = c + (1 - c) / (1 + np.exp(-irt.a * (theta - (irt.b + shift))))
        return np.column_stack([1 - p1, p1])
    # GRM: P(Y ≥ k) = 1/(1 + exp(−a(θ − b_k)))
    cum = 1 / (1 + np.exp(-irt.a * (theta[:, None] - (np.asarray(irt.thresholds)[None, :] + shift[:, None]))))
    upper = np.column_stack([np.ones(len(theta)), cum])
    lower = np.column_stack([cum, np.zeros(len(theta))])
    return upper - lower


def seed_demo_responses(log: Callable[[str], None], n: int = 3000, seed: int = 22) -> None:
    if db.session.scalar(select(Institution.id).where(Institution.name == INSTITUTION)) is not None:
        return
    assessment = db.session.scalar(select(Assessment).where(Assessment.code == ASSESSMENT))
    if assessment is None or not assessment.pool:
        return
    rng = np.random.default_rng(seed)
    pool = pools.pool_items(assessment)
    dims = list(assessment.dimensions)
    dif_item, drift_item = planted(pool)
    inst = Institution(name=INSTITUTION, type="higher_vocational", region="模拟", industries=[])
    db.session.add(inst)
    db.session.flush()
    now = utcnow()
    user_ids = _reserve_ids(User.__table__, n)
    secret = _dummy_hash("pbkdf2:sha256:1000")  # nobody can log in: the accounts are also inactive
    users = [
        (
            uid,
            f"{PREFIX}{k + 1:04d}",
            f"模拟教师 {k + 1:04d}",
            secret,
            "teacher",
            inst.id,
            False,
            now,
            1,
            False,
            0,
            "Asia/Shanghai",
        )
        for k, uid in enumerate(user_ids)
    ]
    _write(
        User.__table__,
        [
            "id",
            "username",
            "display_name",
            "password_hash",
            "role",
            "institution_id",
            "active",
            "created_at",
            "session_version",
            "must_change_password",
            "extra_time_percent",
            "timezone",
        ],
        users,
    )
    female = rng.random(n) < 0.55
    consent = rng.random(n) < 0.9
    kinds = np.array(["higher_vocational", "secondary_vocational", "technician_college"])
    regions = np.array(["east", "central", "southwest", "north"])
    majors = np.array(["electronics_it", "equipment_manufacturing", "finance_commerce", "education_sports"])
    kind_of, region_of, major_of = (rng.integers(0, len(x), n) for x in (kinds, regions, majors))
    _write(
        FairnessProfile.__table__,
        [
            "user_id",
            "consent",
            "consented_at",
            "gender",
            "institution_type",
            "region",
            "major_category",
            "updated_at",
        ],
        [
            (
                uid,
                True,
                now,
                "female" if female[k] else "male",
                str(kinds[kind_of[k]]),
                str(regions[region_of[k]]),
                str(majors[major_of[k]]),
                now,
            )
            for k, uid in enumerate(user_ids)
            if consent[k]
        ],
    )
    corr = np.full((len(dims), len(dims)), TRUE_RHO)
    np.fill_diagonal(corr, 1.0)
    theta = rng.multivariate_normal(np.zeros(len(dims)), corr, size=n)
    attempt_ids = _reserve_ids(Attempt.__table__, n)
    finished = [now - timedelta(minutes=int(m)) for m in rng.integers(60, 60 * 24 * 60, n)]
    versions = {code: p.version for code, p in pool.items()}
    attempts = [
        (
            aid,
            assessment.id,
            uid,
            "graded",
            finished[k] - timedelta(minutes=30),
            finished[k],
            len(dims) * PER_DIMENSION + 1,
            {"simulated": True},
            {},
            versions,
            "ci",
        )
        for k, (aid, uid) in enumerate(zip(attempt_ids, user_ids, strict=True))
    ]
    _write(
        Attempt.__table__,
        [
            "id",
            "assessment_id",
            "user_id",
            "status",
            "started_at",
            "finished_at",
            "position",
            "state",
            "engine",
            "param_versions",
            "stop_reason",
        ],
        attempts,
    )
    # Which items each attempt got: PER_DIMENSION random pool items of every dimension.
    picked = np.zeros((n, 0), dtype=np.int64)
    codes = [c for c, p in sorted(pool.items()) if not p.pilot]
    for dim in dims:
        cols = np.array([j for j, c in enumerate(codes) if pool[c].dimension == dim])
        order = rng.random((n, len(cols))).argsort(axis=1)[:, :PER_DIMENSION]
        picked = np.hstack([picked, cols[order]])
    scores = np.zeros(picked.shape, dtype=np.int64)
    for j, code in enumerate(codes):
        rows, slot = np.nonzero(picked == j)
        if not len(rows):
            continue
        d = dims.index(pool[code].dimension)
        shift = np.zeros(len(rows))
        if code == dif_item:
            shift[female[rows]] = DIF_SHIFT
        if code == drift_item:
            shift[:] = DRIFT_SHIFT
        probs = _probabilities(pool[code].item.irt, theta[rows, d], shift)
        draws = (probs.cumsum(axis=1) < rng.random(len(rows))[:, None]).sum(axis=1)
        scores[rows, slot] = np.minimum(draws, probs.shape[1] - 1)
    response_ids = _reserve_ids(Response.__table__, picked.size)
    position = np.tile(np.arange(1, picked.shape[1] + 1), n)
    flat_items, flat_scores = picked.ravel(), scores.ravel()
    rows = []
    for k in range(picked.size):
        a = k // picked.shape[1]
        code = codes[flat_items[k]]
        rows.append(
            (
                response_ids[k],
                attempt_ids[a],
                int(position[k]),
                code,
                versions[code],
                {"simulated": True},
                int(flat_scores[k]),
                False,
                finished[a],
            )
        )
    _write(
        Response.__table__,
        [
            "id",
            "attempt_id",
            "position",
            "item_code",
            "param_version",
            "answer",
            "score",
            "pilot",
            "answered_at",
        ],
        rows,
    )
    log(
        f"{n} simulated graded attempts of {ASSESSMENT} ({picked.size} responses) for the calibration demo; "
        f"planted DIF item {dif_item}, drifting item {drift_item}"
    )
