"""Single-row fast paths (the step API's one-session batches) give the bits of the general batch code.

Each fast path is checked against the code the simulator runs: a two-row batch (row-wise rules) or
the batch function on the same one row (Newton, whose batch iterates until every row converges).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from competency.irt.cat import Bank, Engine, EngineConfig, linalg, rng
from competency.irt.cat import estimators as est
from competency.irt.cat.sessions import Sessions
from competency.irt.cat.stopping import cut_matrix, levels

from .banks import make_mixed_bank

INT64 = st.integers(-(2**63), 2**63 - 1)


def _banks() -> dict[str, Bank]:
    mixed = make_mixed_bank(60, seed=5, dims=3)
    extra = dict(mixed)
    extra["pilot"] = np.arange(60) < 5
    extra["b"] = np.where(np.arange(60) == 0, np.nan, extra["b"])  # an uncalibrated pilot item
    extra["enemies"] = [[7, 8] if i == 6 else [12] if i == 11 else [] for i in range(60)]
    return {"mixed": Bank.from_arrays(mixed), "extra": Bank.from_arrays(extra)}


BANKS = _banks()
SH = {f"i{i}": 0.3 for i in range(0, 60, 2)}
CONFIGS = {
    "mfi-r3": ("mixed", {"randomesque": 3, "min_items": 2}),
    "mfi-ml": ("mixed", {"estimator": "ml", "max_items": 12}),
    "kl-map": ("mixed", {"selector": "kl", "estimator": "map", "randomesque": 2}),
    "astrat-content": (
        "mixed",
        {
            "selector": "astrat",
            "content_min": {"C": 4},
            "content_max": {"A": 3},
            "content_targets": {"A": 0.3, "B": 0.4, "C": 0.3},
            "max_items": 12,
        },
    ),
    "sh-pilot-enemies": (
        "extra",
        {"exposure": "sympson_hetter", "sh_k": SH, "randomesque": 2, "pilot_positions": [2, 4]},
    ),
    "maxrate-cuts": (
        "mixed",
        {"exposure": "max_rate", "r_max": 0.3, "cut_scores": [-0.5, 0.5], "classification": "ci"},
    ),
    "mcat-eap": (
        "mixed",
        {
            "mcat": True,
            "prior_correlation": 0.6,
            "randomesque": 3,
            "content_by": "dimension",
            "content_min": {"D0": 3},
            "se_target": 0.5,
            "min_items": 3,
        },
    ),
    "mcat-map-sprt": (
        "mixed",
        {
            "mcat": True,
            "estimator": "map",
            "se_target": [0.4, 0.5, 0.6],
            "cut_scores": [-0.5, 0.5],
            "classification": "sprt",
            "min_items": 2,
        },
    ),
    "mcat-gh5-sh": (
        "extra",
        {"mcat": True, "gh_points": 5, "exposure": "sympson_hetter", "sh_k": SH, "prior_correlation": 0.3},
    ),
}
ENGINES = {name: Engine(BANKS[bank], EngineConfig(**cfg)) for name, (bank, cfg) in CONFIGS.items()}
ROW = np.zeros(1, np.intp)
BOTH = np.arange(2, dtype=np.intp)


@st.composite
def cases(draw: st.DrawFn) -> dict[str, object]:
    """An engine, two sessions' histories of equal length and an estimate to impose on them."""
    name = draw(st.sampled_from(sorted(ENGINES)))
    engine = ENGINES[name]
    n, dims = len(engine.bank), engine.dims
    k = draw(st.integers(0, 14))
    histories = []
    for _ in range(2):
        items = draw(st.permutations(range(n)))[:k]
        scores = [draw(st.integers(0, int(engine.bank.n_cats[i]) - 1)) for i in items]
        histories.append((items, scores))
    theta = draw(st.lists(st.floats(-7.0, 7.0), min_size=2 * dims, max_size=2 * dims))
    spread = draw(st.lists(st.floats(-1.0, 1.0), min_size=2 * dims * dims, max_size=2 * dims * dims))
    scale = np.array(spread).reshape(2, dims, dims)
    return {
        "engine": engine,
        "histories": histories,
        "seeds": draw(st.lists(st.integers(0, 2**53 - 1), min_size=2, max_size=2)),
        "theta": np.array(theta).reshape(2, dims),
        "cov": scale @ scale.transpose(0, 2, 1) / dims + 0.01 * np.eye(dims),
        "skipped": draw(st.lists(st.integers(0, n - 1), max_size=3, unique=True)),
        "rates": draw(st.lists(st.floats(0.0, 0.6), min_size=n, max_size=n)),
        "elapsed": draw(st.sampled_from([None, 5.0])),
    }


def _build(case: dict[str, object]) -> tuple[Sessions, list[Sessions], list[Sessions]]:
    """The same histories as one two-row batch (general path), one-row batches recorded step by step
    (single-row path) and one-row batches replayed at once (the step API's rebuild)."""
    engine: Engine = case["engine"]  # type: ignore[assignment]
    histories = case["histories"]
    seeds = case["seeds"]
    length = len(histories[0][0])
    two = engine.new_sessions(np.array(seeds, np.int64), capacity=length + 1)
    stepped = [engine.new_sessions(np.array([seed], np.int64), capacity=length + 1) for seed in seeds]
    replayed = [engine.new_sessions(np.array([seed], np.int64), capacity=length + 1) for seed in seeds]
    for k in range(length):
        items = np.array([h[0][k] for h in histories], np.intp)
        scores = np.array([h[1][k] for h in histories], np.intp)
        two.record(BOTH, items, scores)
        for r in range(2):
            stepped[r].record(ROW, items[r : r + 1], scores[r : r + 1])
    for r, (items, scores) in enumerate(histories):
        replayed[r].replay(0, list(items), list(scores))
    return two, stepped, replayed


def _same_row(a: Sessions, ra: int, b: Sessions, rb: int) -> None:
    for name in (
        "admin",
        "blocked",
        "loglik",
        "n_scored",
        "n_total",
        "n_skipped",
        "nonmin",
        "nonmax",
        "dim_count",
        "area_count",
        "seq_items",
        "seq_resp",
        "theta",
        "cov",
    ):
        x, y = getattr(a, name)[ra], getattr(b, name)[rb]
        assert x.shape == y.shape and x.tobytes() == y.tobytes(), name


def _impose(case: dict[str, object], s: Sessions, rows: list[int], which: list[int]) -> None:
    """Give rows the drawn estimate and lottery history (the same on every path)."""
    for r, w in zip(rows, which, strict=True):
        s.theta[r], s.cov[r] = case["theta"][w], case["cov"][w]  # type: ignore[index]
        for i in case["skipped"]:  # type: ignore[attr-defined]
            s.blocked[r, i] = True
            s.skipped[r].append(i)
            s.any_blocked = True
        s.n_skipped[r] = len(case["skipped"])  # type: ignore[arg-type]


@settings(max_examples=150, deadline=None)
@given(cases())
def test_record_and_replay_match_the_batch(case):
    two, stepped, replayed = _build(case)
    for r in range(2):
        _same_row(two, r, stepped[r], 0)
        _same_row(two, r, replayed[r], 0)
        assert two.any_blocked >= stepped[r].any_blocked == replayed[r].any_blocked


@settings(max_examples=150, deadline=None)
@given(cases())
def test_stop_select_and_pick_match_the_batch(case):
    engine: Engine = case["engine"]
    two, stepped, _ = _build(case)
    _impose(case, two, [0, 1], [0, 1])
    for r in range(2):
        _impose(case, stepped[r], [0], [r])
    rates = engine._rates(case["rates"]) if engine.cfg.exposure == "max_rate" else None
    reasons = engine.stopper.reasons(two, BOTH, case["elapsed"])
    scored = engine.selector.base  # the general selector: eligibility, criterion, picker
    elig = scored.eligibility(two, BOTH, rates)
    hard = engine.selector.available(two, BOTH)
    crit = scored.criterion.criterion(two, BOTH)
    before = two.selected_count.copy()
    picks = engine.choose(two, BOTH, rates)
    counted = np.zeros_like(before)
    for r, one in enumerate(stepped):
        assert engine.stopper.reasons(one, ROW, case["elapsed"])[0] == reasons[r]
        assert scored.eligibility(one, ROW, rates)[0].tolist() == elig[r].tolist()
        assert engine.selector.available(one, ROW)[0].tolist() == hard[r].tolist()
        assert scored.criterion.criterion(one, ROW)[0].tobytes() == crit[r].tobytes()
        assert engine.choose(one, ROW, rates)[0] == picks[r]
        assert one.skipped[0] == two.skipped[r] and one.n_skipped[0] == two.n_skipped[r]
        assert one.blocked[0].tolist() == two.blocked[r].tolist()
        counted += one.selected_count
    assert (counted == two.selected_count - before).all()


@settings(max_examples=150, deadline=None)
@given(cases(), st.booleans())
def test_newton_and_estimates_match_the_batch(case, use_prior):
    engine: Engine = case["engine"]
    _, stepped, _ = _build(case)
    one = stepped[0]
    start = case["theta"][:1]
    fast = est._newton_one(one, 0, start, use_prior)
    assert fast is not None  # finite inputs always take the fast path
    batch = est._newton_batch(one, ROW, start, use_prior)
    assert fast[0].tobytes() == batch[0].tobytes() and fast[1].tobytes() == batch[1].tobytes()
    one.theta[0] = start[0]
    estimate = engine.estimator.estimate(one, ROW)
    original, est._newton_one = est._newton_one, lambda *args: None  # force the batch Newton
    try:
        reference = engine.estimator.estimate(one, ROW)
    finally:
        est._newton_one = original
    assert estimate[0].tobytes() == reference[0].tobytes() and estimate[1].tobytes() == reference[1].tobytes()


@settings(max_examples=300, deadline=None)
@given(INT64, st.integers(0, 2**20), INT64, INT64)
def test_one_uniform_matches_the_array_path(seed, stream, position, attempt):
    reference = rng._uniforms_array(np.array([seed]), stream, np.array([position]), np.array([attempt]))
    for args in ((seed, position, attempt), (np.array([seed]), np.array([position]), np.array([attempt]))):
        fast = rng.uniforms(args[0], stream, args[1], args[2])
        assert fast.shape == reference.shape and fast.tobytes() == reference.tobytes()
    assert rng.uniform_one(seed, stream, position, attempt) == reference[0]


def test_uniforms_outside_int64_still_raise():
    with pytest.raises(OverflowError):
        rng.uniforms(2**63, rng.STREAM_SEED, 0)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_linalg_matches_numpy(dims, stack, seed):
    g = np.random.default_rng(seed)
    a = g.normal(size=(stack, dims, dims))
    spd = a @ a.transpose(0, 2, 1) + 0.1 * np.eye(dims)
    b = g.normal(size=(stack, dims, 1))
    assert linalg.solve(spd, b).tobytes() == np.linalg.solve(spd, b).tobytes()
    assert linalg.inv(spd).tobytes() == np.linalg.inv(spd).tobytes()
    assert linalg.cholesky(spd).tobytes() == np.linalg.cholesky(spd).tobytes()


def test_linalg_errors_are_numpys():
    singular = np.zeros((1, 3, 3))
    with pytest.raises(np.linalg.LinAlgError):
        linalg.solve(singular, np.ones((1, 3, 1)))
    with pytest.raises(np.linalg.LinAlgError):
        linalg.inv(singular)
    with pytest.raises(np.linalg.LinAlgError):
        linalg.cholesky(-np.eye(3)[None])


def test_shared_cut_scores_give_the_same_levels():
    theta = np.random.default_rng(0).normal(size=(50, 3)) * 2
    theta[0] = [-0.5, 0.0, 0.5]  # exactly on cuts
    shared = cut_matrix([[-0.5, 0.5, 0.0]] * 3, 3)
    separate = [np.sort(np.array([-0.5, 0.5, 0.0])) for _ in range(3)]
    assert all(c is shared[0] for c in shared)
    np.testing.assert_array_equal(levels(theta, shared), levels(theta, separate))
    assert levels(theta, shared).dtype == levels(theta, separate).dtype
