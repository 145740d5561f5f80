"""DIF: Mantel–Haenszel and logistic regression on θ̂ for sparse data, and multigroup IRT-LR DIF.

Simulation with known DIF: focal group 0.5 SD lower (impact, not DIF), items 0 and 1 harder /
easier by 0.6 logits for the focal group (uniform DIF), each person answers 14 of 20 items.
The full study (200 replications, power and type-I per method) is benchmarks/bench_dif.py.
"""

import numpy as np
import pytest

from competency.irt import score
from competency.irt.dif import ets_class, logistic_dif, mantel_haenszel
from competency.irt.multigroup import fit_multigroup, irt_lr_dif
from competency.irt.simulate import random_bank, simulate_responses

BANK = random_bank(20, "2pl", seed=3)


def simulate_dif(seed, n=800, items=20, sparse=14, shift=0.6, bank=BANK):
    rng = np.random.default_rng(seed)
    g = np.repeat([0, 1], n)
    th = np.concatenate([rng.normal(0, 1, n), rng.normal(-0.5, 1, n)])
    x = simulate_responses(bank, th, "2pl", seed=rng)
    focal = {k: v.copy() for k, v in bank.items()}
    focal["b"][0] += shift
    focal["b"][1] -= shift
    x[g == 1] = simulate_responses(focal, th[g == 1], "2pl", seed=rng)
    if sparse < items:
        x = np.where(np.argsort(rng.random(x.shape), axis=1) < sparse, x, np.nan)
    return x, g


@pytest.mark.slow
def test_mh_and_logistic_power_and_type_one_rate_in_simulation():
    hits = {"mh": [], "lr": []}
    false = {"mh": [], "lr": []}
    for rep in range(10):
        x, g = simulate_dif(100 + rep)
        theta, _ = score(x, BANK, "2pl", method="wle")
        mh = mantel_haenszel(x, g, theta)
        lr = logistic_dif(x, g, theta)
        for name, p in (("mh", mh["p_value"]), ("lr", lr["p_both"])):
            hits[name].extend(p[:2] < 0.05)
            false[name].extend(p[2:] < 0.05)
    for name in ("mh", "lr"):
        assert np.mean(hits[name]) >= 0.8, name
        assert np.mean(false[name]) <= 0.08, name  # 180 tests; the 200-replication benchmark gives the rate


def test_mh_statistics_on_a_hand_checked_table():
    # one stratum, reference 30/10 right/wrong, focal 20/20: α = (30·20/80)/(10·20/80) = 3
    x = np.array([1] * 30 + [0] * 10 + [1] * 20 + [0] * 20, float)[:, None]
    g = np.array([0] * 40 + [1] * 40)
    res = mantel_haenszel(x, g, np.zeros(80), strata=1)
    assert res["alpha_mh"][0] == pytest.approx(3.0)
    assert res["d_dif"][0] == pytest.approx(-2.35 * np.log(3.0))
    # χ²_MH: E(A) = 40·50/80 = 25, Var = 40·40·50·30/(80²·79)
    var = 40 * 40 * 50 * 30 / (80**2 * 79)
    assert res["chi2"][0] == pytest.approx((abs(30 - 25) - 0.5) ** 2 / var)


def test_ets_classes():
    assert ets_class(-0.8, 0.2, 0.001) == "A"
    assert ets_class(-1.2, 0.2, 0.001) == "B"
    assert ets_class(-1.7, 0.2, 0.001) == "C"
    assert ets_class(-1.7, 0.6, 0.01) == "B"  # not significantly beyond 1
    assert ets_class(-1.7, 0.2, 0.2) == "A"


def test_logistic_separates_uniform_and_nonuniform_dif():
    rng = np.random.default_rng(1)
    n = 1500
    g = np.repeat([0, 1], n)
    th = rng.normal(size=2 * n)
    bank = {"a": np.array([1.5, 1.5, 1.2]), "b": np.array([0.0, 0.0, 0.3])}
    focal = {"a": np.array([1.5, 0.5, 1.2]), "b": np.array([0.7, 0.0, 0.3])}
    x = simulate_responses(bank, th, "2pl", seed=2)
    x[g == 1] = simulate_responses(focal, th[g == 1], "2pl", seed=3)
    res = logistic_dif(x, g, th)
    assert res["p_uniform"][0] < 1e-4 and res["p_nonuniform"][0] > 0.01
    assert res["p_nonuniform"][1] < 1e-4
    assert res["p_both"][2] > 0.01


def test_multigroup_estimates_impact_and_free_item_parameters():
    bank = random_bank(8, "2pl", seed=4)
    x, g = simulate_dif(7, n=1000, items=8, sparse=8, bank=bank)
    res = fit_multigroup(x, g, "2pl", free=[0])
    assert res.converged
    assert res.focal_mean == pytest.approx(-0.5, abs=0.15)
    assert res.focal_params["b"][0] - res.params["b"][0] == pytest.approx(0.6, abs=0.3)
    np.testing.assert_allclose(res.params["b"][2:], res.focal_params["b"][2:])


def test_irt_lr_dif_flags_the_planted_items_with_rank_chosen_anchors():
    bank = random_bank(8, "2pl", seed=4)
    x, g = simulate_dif(8, n=1000, items=8, sparse=8, bank=bank)
    res = irt_lr_dif(x, g, "2pl")
    assert 0 not in res["anchors"] and 1 not in res["anchors"] and len(res["anchors"]) == 2
    assert res["flag"][0] and res["flag"][1]
    assert res["delta_b"][0] > 0.3 and res["delta_b"][1] < -0.3
    assert res["focal_mean"] == pytest.approx(-0.5, abs=0.15)
