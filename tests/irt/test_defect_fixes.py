"""Regression tests for three defects found against independent references (issue 22).

* 3PL without a prior never reported convergence when an item's c tends to 0;
* 3PL MAP/WLE scoring stopped unconverged on low-scoring patterns;
* the simulator's maximum-rate exposure rule divided by the total number of simulees.
"""

import numpy as np
import pytest

from competency.irt import fit, score
from competency.irt.simulate import random_bank

# --------------------------------------------------------------------------- 3PL EM without a prior


@pytest.mark.slow
def test_3pl_without_prior_converges_when_a_guess_goes_to_zero(lsat6):
    pat, freq = lsat6
    tight = fit(pat, "3pl", weights=freq, guess_prior=None, max_iter=3000, tol=1e-7, se=False)
    assert tight.converged  # used to run to max_iter at any tolerance: logit(c) walks to −inf
    assert np.min(tight.params["c"]) < 1e-6  # the case: some c runs to 0
    res = fit(pat, "3pl", weights=freq, guess_prior=None, se=False)
    assert res.converged and res.iterations < 1000
    # The likelihood is flat along c: at the default tol the estimates sit where EM's steps fall
    # below 1e-4 (documented mirt-like behaviour); a tighter tol reaches the tight run's values.
    assert res.loglik == pytest.approx(tight.loglik, abs=1e-5)
    for key in ("a", "b", "c"):
        np.testing.assert_allclose(res.params[key], tight.params[key], atol=0.01)
    mid = fit(pat, "3pl", weights=freq, guess_prior=None, tol=1e-6, se=False)
    assert mid.converged
    for key in ("a", "b", "c"):
        np.testing.assert_allclose(mid.params[key], tight.params[key], atol=1e-3)


# --------------------------------------------------------------------------- 3PL MAP / WLE scoring


def _3pl_terms(bank, x, theta):
    """Log-likelihood, l', I and J of one pattern at θ values, from the 3PL formulas directly."""
    a, b, c = bank["a"], bank["b"], bank["c"]
    t = np.atleast_1d(theta)[:, None]
    s = 1.0 / (1.0 + np.exp(-a * (t - b)))
    p = c + (1 - c) * s
    d1 = (1 - c) * a * s * (1 - s)
    d2 = d1 * a * (1 - 2 * s)
    ll = np.sum(x * np.log(p) + (1 - x) * np.log1p(-p), axis=1)
    grad = np.sum((x - p) * d1 / (p * (1 - p)), axis=1)
    info = np.sum(d1**2 / (p * (1 - p)), axis=1)
    j = np.sum(d1 * d2 / (p * (1 - p)), axis=1)
    return ll, grad, info, j


def _zoom(fun, lo=-6.0, hi=6.0, points=2001, rounds=8, root=False):
    """Brute force: evaluate on a grid, keep the best cell (maximum, or the sign change of a
    decreasing estimating function), refine the grid inside it; no derivatives, no Newton."""
    for _ in range(rounds):
        grid = np.linspace(lo, hi, points)
        v = fun(grid)
        if root:
            k = np.flatnonzero((v[:-1] > 0) & (v[1:] <= 0))
            assert k.size == 1, "the brute force assumes a single root"
            lo, hi = grid[k[0]], grid[k[0] + 1]
        else:
            k = int(np.argmax(v))
            lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, points - 1)]
    return 0.5 * (lo + hi)


LOW_PATTERNS = [(24, 60, 2), (24, 60, 0), (12, 40, 0), (3, 20, 1), (7, 10, 0)]


@pytest.mark.parametrize(("seed", "n", "right"), LOW_PATTERNS)
def test_3pl_map_matches_brute_force_on_low_patterns(seed, n, right):
    bank = random_bank(n, "3pl", seed=seed)
    x = np.zeros(n)
    x[:right] = 1
    theta, _ = score(x[None, :], bank, model="3pl", method="map")

    def posterior(t):
        return _3pl_terms(bank, x, t)[0] - 0.5 * t**2

    assert theta[0] == pytest.approx(_zoom(posterior), abs=1e-6)


@pytest.mark.parametrize(("seed", "n", "right"), LOW_PATTERNS)
def test_3pl_wle_matches_brute_force_root_on_low_patterns(seed, n, right):
    bank = random_bank(n, "3pl", seed=seed)
    x = np.zeros(n)
    x[:right] = 1
    theta, _ = score(x[None, :], bank, model="3pl", method="wle")

    def warm(t):
        _, g, i, j = _3pl_terms(bank, x, t)
        return g + j / (2 * i)

    assert theta[0] == pytest.approx(_zoom(warm, root=True), abs=1e-6)


def test_map_and_wle_converge_on_every_low_pattern_of_a_long_3pl_test():
    bank = random_bank(60, "3pl", seed=24)
    rng = np.random.default_rng(5)
    x = (rng.random((200, 60)) < np.linspace(0.0, 0.35, 200)[:, None]).astype(float)
    for method in ("map", "wle"):
        theta, _ = score(x, bank, model="3pl", method=method)
        h = 1e-6
        for i in range(0, 200, 9):
            if method == "map":

                def f(t, i=i):
                    return _3pl_terms(bank, x[i], t)[0] - 0.5 * t**2

                slope = (f(theta[i] + h) - f(theta[i] - h)) / (2 * h)
            else:
                _, g, inf, j = _3pl_terms(bank, x[i], theta[i])
                slope = g + j / (2 * inf)
            assert abs(slope[0]) < 1e-5, (method, i)


# --------------------------------------------------------------------------- maximum-rate exposure in simulation


def test_simulated_max_rate_uses_running_rates_like_live_delivery():
    """Live delivery blocks an item once its share of the attempts *started so far* reaches r_max;
    the simulator divided by all simulees, so early simulees got uncontrolled tests."""
    from competency.irt.cat.simulation import run_sessions
    from tests.cat.banks import make_2pl_bank

    truth = np.random.default_rng(11).normal(0, 1, 500)
    run = run_sessions(make_2pl_bank(), {"exposure": "max_rate", "r_max": 0.2}, truth[:, None], seed=1)
    n_items = len(run.engine.bank)
    seen = np.zeros((truth.size, n_items), bool)
    for r, seq in enumerate(run.items):
        seen[r, seq] = True
    first = seen[:100].mean(axis=0)  # the first 20 % of simulees
    last = seen[-100:].mean(axis=0)
    chunk = 10  # simulees advance in lock step in chunks of 10 under this rule
    assert first.max() <= 0.2 + chunk / 100 + 1e-9
    assert last.max() <= 0.2 + chunk / 100 + 1e-9
    assert seen.mean(axis=0).max() <= 0.2 + chunk / truth.size + 1e-9
