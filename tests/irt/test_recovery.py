"""Parameter recovery from simulated data: bias and RMSE within stated bounds, every model.

Design: 5,000 people × 40 items (about a second per model). The bounds sit about 1.5 times
above the RMSE expected from the standard errors at this size (the mean SE is printed by
benchmarks/bench_irt.py --recovery); the z-scores of the errors check the SEs themselves.
"""

import numpy as np
import pytest

from competency.irt import fit
from competency.irt.simulate import random_bank, simulate_responses

N_PERSONS, N_ITEMS = 5000, 40
# (max |bias|, max RMSE) for slopes and locations; 3pl slopes and locations are the hardest.
BOUNDS = {
    "rasch": {"b": (0.04, 0.055)},
    "1pl": {"a": (0.015, 0.02), "b": (0.04, 0.05)},
    "2pl": {"a": (0.03, 0.08), "b": (0.04, 0.06)},
    "3pl": {"a": (0.05, 0.17), "b": (0.05, 0.17), "c": (0.02, 0.06)},
    "grm": {"a": (0.03, 0.06), "thresholds": (0.04, 0.07)},
    "gpcm": {"a": (0.03, 0.06), "thresholds": (0.04, 0.07)},
}


def _recover(model, seed=11, missing=0.0, n_persons=N_PERSONS, n_items=N_ITEMS):
    rng = np.random.default_rng(seed)
    bank = random_bank(n_items, model, seed=rng)
    theta = rng.normal(size=n_persons)
    x = simulate_responses(bank, theta, model, seed=rng)
    if missing:
        x[rng.random(x.shape) < missing] = np.nan
    return bank, fit(x, model)


@pytest.mark.slow
@pytest.mark.parametrize("model", list(BOUNDS))
def test_recovery_bias_rmse_and_standard_errors(model):
    bank, r = _recover(model)
    assert r.converged
    for key, (max_bias, max_rmse) in BOUNDS[model].items():
        err = r.params[key] - bank[key]
        assert abs(np.nanmean(err)) < max_bias, (key, np.nanmean(err))
        assert np.sqrt(np.nanmean(err**2)) < max_rmse, (key, np.sqrt(np.nanmean(err**2)))
        if model == "1pl" and key == "a":
            continue  # one common slope: a single error, no spread to compare
        z = err / r.se[key]
        assert 0.6 < np.sqrt(np.nanmean(z**2)) < 1.5, (key, np.sqrt(np.nanmean(z**2)))
    assert np.all(np.isfinite(r.params["a"]))


def test_missing_responses_are_ignored_not_imputed():
    bank, r = _recover("2pl", seed=3, missing=0.25, n_persons=2000, n_items=20)
    assert r.converged
    assert np.sqrt(np.mean((r.params["a"] - bank["a"]) ** 2)) < 0.2
    assert np.sqrt(np.mean((r.params["b"] - bank["b"]) ** 2)) < 0.2


def test_mixed_dichotomous_and_polytomous_calibration():
    rng = np.random.default_rng(8)
    two, grm = random_bank(10, "2pl", seed=rng), random_bank(6, "grm", seed=rng)
    theta = rng.normal(size=2000)
    x = np.hstack(
        [simulate_responses(two, theta, "2pl", seed=1), simulate_responses(grm, theta, "grm", seed=2)]
    )
    models = ["2pl"] * 10 + ["grm"] * 6
    r = fit(x, models)
    assert r.converged and r.model == models
    np.testing.assert_allclose(r.params["a"], np.r_[two["a"], grm["a"]], atol=0.35)
    np.testing.assert_allclose(r.params["b"][:10], two["b"], atol=0.35)
    np.testing.assert_allclose(r.params["thresholds"][10:, :3], grm["thresholds"], atol=0.35)
    assert np.all(np.isnan(r.params["b"][10:])) and np.all(np.isnan(r.params["thresholds"][:10]))


@pytest.mark.slow
def test_acceleration_reaches_the_same_maximum():
    rng = np.random.default_rng(4)
    bank = random_bank(15, "gpcm", seed=rng)
    x = simulate_responses(bank, rng.normal(size=1500), "gpcm", seed=rng)
    plain = fit(x, "gpcm", accelerate=False, tol=1e-6, se=False)
    fast = fit(x, "gpcm", accelerate=True, tol=1e-6, se=False)
    assert fast.loglik == pytest.approx(plain.loglik, abs=1e-4)
    np.testing.assert_allclose(fast.params["thresholds"], plain.params["thresholds"], atol=1e-3)
    assert fast.iterations < plain.iterations
