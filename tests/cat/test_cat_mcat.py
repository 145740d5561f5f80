"""Multidimensional CAT: vector EAP/MAP against brute-force quadrature, and the item saving."""

from __future__ import annotations

import numpy as np
import pytest

from competency.irt.cat import Bank, Engine, EngineConfig, simulate


def two_dim_bank(n: int = 40, seed: int = 0) -> dict[str, object]:
    rng = np.random.default_rng(seed)
    return {"a": rng.lognormal(0.2, 0.3, n), "b": rng.normal(0, 1, n), "dimension": np.arange(n) % 2}


@pytest.mark.parametrize("estimator,gh", [("eap", 3), ("eap", 5), ("map", 3)])
def test_vector_estimates_match_brute_force(estimator, gh):
    arrays = two_dim_bank()
    bank = Bank.from_arrays(arrays)
    rho = 0.7
    engine = Engine(bank, EngineConfig(mcat=True, prior_correlation=rho, estimator=estimator, gh_points=gh))
    rng = np.random.default_rng(1)
    g = np.linspace(-6, 6, 401)
    t1, t2 = np.meshgrid(g, g, indexing="ij")
    prec = np.linalg.inv(np.array([[1, rho], [rho, 1]]))
    for _ in range(4):
        items = rng.choice(40, 8, replace=False)
        resp = rng.integers(0, 2, 8)
        state = engine.start(seed=0)
        for i, x in zip(items, resp, strict=True):
            state = engine.record(state, bank.ids[i], int(x))
        logp = -0.5 * (prec[0, 0] * t1**2 + 2 * prec[0, 1] * t1 * t2 + prec[1, 1] * t2**2)
        for i, x in zip(items, resp, strict=True):
            th = t1 if arrays["dimension"][i] == 0 else t2
            p = 1 / (1 + np.exp(-arrays["a"][i] * (th - arrays["b"][i])))
            logp += np.log(p if x else 1 - p)
        w = np.exp(logp - logp.max())
        w /= w.sum()
        if estimator == "eap":
            mean = np.array([np.sum(w * t1), np.sum(w * t2)])
            sd = np.sqrt([np.sum(w * (t1 - mean[0]) ** 2), np.sum(w * (t2 - mean[1]) ** 2)])
            tol = 0.02 if gh == 3 else 0.01
            np.testing.assert_allclose(state.theta, mean, atol=tol)
            np.testing.assert_allclose(state.se, sd, atol=tol)
        else:
            k = np.unravel_index(np.argmax(logp), logp.shape)
            np.testing.assert_allclose(state.theta, [g[k[0]], g[k[1]]], atol=0.03)


def test_prior_correlation_borrows_strength():
    bank = Bank.from_arrays(two_dim_bank())
    engine = Engine(bank, EngineConfig(mcat=True, prior_correlation=0.8))
    state = engine.start(seed=0)
    for i in range(0, 16, 2):  # only dimension-0 items, all correct
        state = engine.record(state, bank.ids[i], 1)
    assert state.theta[0] > 0.8 and state.theta[1] > 0.4  # the unmeasured trait moves too
    assert state.se[1] < 1.0


def five_dim_setup(n_per: int = 80, seed: int = 5):
    rng = np.random.default_rng(seed)
    dims = 5
    n = dims * n_per
    corr = np.array(
        [
            [1, 0.7, 0.6, 0.75, 0.65],
            [0.7, 1, 0.8, 0.7, 0.6],
            [0.6, 0.8, 1, 0.7, 0.75],
            [0.75, 0.7, 0.7, 1, 0.8],
            [0.65, 0.6, 0.75, 0.8, 1],
        ]
    )
    arrays = {
        "a": rng.lognormal(0.2, 0.25, n),
        "b": rng.normal(0, 1, n),
        "dimension": np.repeat(np.arange(dims), n_per),
    }
    return arrays, corr, rng.multivariate_normal(np.zeros(dims), corr, 150)


def test_mcat_saves_at_least_20_percent_of_items():
    arrays, corr, truth = five_dim_setup()
    target = 0.3
    mcat = simulate(
        arrays,
        truth,
        mcat=True,
        prior_correlation=corr.tolist(),
        estimator="map",
        se_target=target,
        min_items=5,
        max_items=150,
    )
    separate = 0.0
    rmse_sep = []
    for d in range(5):
        m = arrays["dimension"] == d
        uni = simulate(
            {"a": arrays["a"][m], "b": arrays["b"][m]},
            truth[:, d],
            se_target=target,
            min_items=1,
            max_items=40,
        )
        separate += uni.lengths.mean()
        rmse_sep.append(uni.rmse)
    saving = 1 - mcat.lengths.mean() / separate
    assert saving >= 0.20
    assert np.all(mcat.mean_se <= target + 0.01)
    assert np.all(mcat.rmse < np.array(rmse_sep) + 0.05)


def test_per_dimension_se_targets_and_config_errors():
    from competency.irt.cat import ConfigError

    arrays = two_dim_bank(120, seed=3)
    truth = np.random.default_rng(4).multivariate_normal([0, 0], [[1, 0.6], [0.6, 1]], 60)
    report = simulate(
        arrays, truth, mcat=True, prior_correlation=0.6, se_target=[0.35, 0.6], min_items=2, max_items=80
    )
    done = report.lengths < 80
    assert np.all(report.se[done, 0] <= 0.35 + 1e-9) and np.all(report.se[done, 1] <= 0.6 + 1e-9)
    # the looser target needs fewer items on its dimension
    from competency.irt.cat.simulation import run_sessions

    cfg = EngineConfig(mcat=True, prior_correlation=0.6, se_target=[0.35, 0.6], min_items=2, max_items=80)
    run = run_sessions(arrays, cfg, truth)
    dims = np.asarray(arrays["dimension"])
    per_dim = np.array([np.bincount(dims[seq], minlength=2) for seq in run.items])
    assert per_dim[:, 0].mean() > 1.5 * per_dim[:, 1].mean()
    with pytest.raises(ConfigError, match="estimator"):
        Engine(arrays, EngineConfig(mcat=True, estimator="ml"))
    with pytest.raises(ConfigError, match="prior_correlation"):
        Engine(arrays, EngineConfig(mcat=True, prior_correlation=[[1, 2], [2, 1]]))
