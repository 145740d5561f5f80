"""Estimators against direct numerical integration / optimisation of the exact likelihood."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize

from competency.irt import models as kernels
from competency.irt.cat import Bank, Engine, EngineConfig

from .banks import make_mixed_bank


def exact_loglik(bank: Bank, items: list[int], resp: list[int], theta) -> np.ndarray:
    """Log-likelihood from the kernels at each θ (vectorised over θ)."""
    t = np.atleast_1d(np.asarray(theta, dtype=float))
    total = np.zeros(t.size)
    for i, x in zip(items, resp, strict=True):
        if bank.poly[i]:
            fn = kernels.category_probs_grm if bank.model[i] == "grm" else kernels.category_probs_gpcm
            w = int(bank.n_cats[i]) - 1
            p = fn(t, bank.a[i : i + 1], bank.thresholds[i : i + 1, :w])[:, 0, x]
        else:
            p1 = kernels.prob_dichotomous(t, bank.a[i : i + 1], bank.b[i : i + 1], bank.c[i : i + 1])[:, 0]
            p = p1 if x == 1 else 1 - p1
        total += np.log(p)
    return total


def run_pattern(engine: Engine, items: list[int], resp: list[int]):
    state = engine.start(seed=1)
    for i, x in zip(items, resp, strict=True):
        state = engine.record(state, engine.bank.ids[i], x)
    return state


BANK = Bank.from_arrays(make_mixed_bank(60, seed=11))


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 59), st.integers(0, 3)), min_size=1, max_size=12, unique_by=lambda t: t[0]
    )
)
def test_eap_matches_quadrature_of_exact_posterior(pattern):
    items = [i for i, _ in pattern]
    resp = [min(x, int(BANK.n_cats[i]) - 1) for i, x in pattern]
    engine = Engine(BANK, EngineConfig(prior_mean=0.2, prior_sd=1.1))
    state = run_pattern(engine, items, resp)

    # Reference: a dense grid (h = 0.0009) on ±9 with the exact kernels (adaptive quad misses narrow peaks).
    grid = np.linspace(-9, 9, 20001)
    logpost = exact_loglik(BANK, items, resp, grid) - 0.5 * ((grid - 0.2) / 1.1) ** 2
    w = np.exp(logpost - logpost.max())
    w /= w.sum()
    mean = float(np.sum(w * grid))
    var = float(np.sum(w * (grid - mean) ** 2))
    assert state.theta[0] == pytest.approx(mean, abs=2e-3)
    assert state.se[0] == pytest.approx(np.sqrt(var), abs=2e-3)


@pytest.mark.parametrize("estimator", ["map", "ml"])
def test_map_and_ml_match_direct_optimisation(estimator):
    rng = np.random.default_rng(4)
    engine = Engine(BANK, EngineConfig(estimator=estimator))
    for _ in range(8):
        items = rng.choice(60, 15, replace=False).tolist()
        probs = BANK.response_probs(np.array(items), np.full(15, rng.normal()))
        resp = [int(rng.choice(p.size, p=p / p.sum())) for p in probs]
        resp[0] = 0  # make the pattern vary so that ML is finite
        resp[1] = int(BANK.n_cats[items[1]]) - 1
        state = run_pattern(engine, items, resp)
        prior = 0.0 if estimator == "ml" else 1.0

        def neg(t: float, items=items, resp=resp, prior=prior) -> float:
            return float(-(exact_loglik(BANK, items, resp, t)[0] - 0.5 * prior * t * t))

        best = optimize.minimize_scalar(neg, bounds=(-6, 6), method="bounded", options={"xatol": 1e-9})
        h = 1e-4
        curv = (neg(best.x + h) - 2 * neg(best.x) + neg(best.x - h)) / h**2
        assert state.theta[0] == pytest.approx(best.x, abs=5e-3)
        assert state.se[0] == pytest.approx(1 / np.sqrt(curv), rel=2e-2)


def test_ml_waits_for_varied_responses():
    engine = Engine(BANK, EngineConfig(estimator="ml"))
    dich = [i for i in range(60) if not BANK.poly[i]][:3]
    state = run_pattern(engine, dich, [1, 1, 1])
    eap = run_pattern(Engine(BANK, EngineConfig(estimator="eap")), dich, [1, 1, 1])
    assert state.theta == pytest.approx(eap.theta)  # all correct: no finite ML, EAP stands in
    assert np.isfinite(state.theta[0]) and state.theta[0] < 6


def test_recovery_in_simulation_is_unbiased():
    from competency.irt.cat import simulate

    rng = np.random.default_rng(0)
    bank = make_mixed_bank(200, seed=5)
    truth = rng.normal(0, 1, 400)
    report = simulate(bank, truth, se_target=0.35, max_items=30)
    assert abs(report.bias) < 0.06
    # RMSE should agree with the average posterior SE (calibrated SEs).
    assert report.rmse == pytest.approx(report.mean_se, rel=0.15)
