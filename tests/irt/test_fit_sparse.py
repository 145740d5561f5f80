"""Item RMSD, posterior infit/outfit and Snijders' lz* on complete and missing-by-design data."""

import numpy as np
import pytest

from competency.irt.fit_sparse import item_rmsd, lz_star, posterior_infit_outfit
from competency.irt.simulate import random_bank, simulate_responses

BANK = random_bank(30, "2pl", seed=1)
THETA = np.random.default_rng(0).normal(size=2000)
COMPLETE = simulate_responses(BANK, THETA, "2pl", seed=2)
_rng = np.random.default_rng(9)
SPARSE = np.where(np.argsort(_rng.random(COMPLETE.shape), axis=1) < 15, COMPLETE, np.nan)


@pytest.mark.parametrize("data", [COMPLETE, SPARSE], ids=["complete", "half-missing"])
@pytest.mark.parametrize("method", ["ml", "map", "wle"])
def test_lz_star_type_one_rate_is_nominal_under_the_true_model(data, method):
    res = lz_star(data, BANK, "2pl", method=method)
    rate = np.mean(res["flag"])
    # 2,000 persons: binomial SD of a 5 % rate ≈ 0.005
    assert 0.03 < rate < 0.07
    assert abs(np.nanmean(res["lz_star"])) < 0.25 and 0.85 < np.nanstd(res["lz_star"]) < 1.15


def test_lz_star_detects_random_responding_and_preknowledge():
    x = COMPLETE.copy()
    rng = np.random.default_rng(4)
    x[:200] = rng.random((200, 30)) < 0.5  # random clicking
    low = np.flatnonzero(THETA < -0.5)[:200]
    hard = np.argsort(BANK["b"])[-10:]
    x[np.ix_(low, hard)] = 1.0  # low-ability persons who knew the hardest items
    res = lz_star(x, BANK, "2pl")
    assert res["flag"][:200].mean() > 0.8
    assert res["flag"][low].mean() > 0.5
    clean = np.setdiff1d(np.arange(200, 2000), low)
    assert res["flag"][clean].mean() < 0.07


def test_lz_star_matches_its_formula_for_one_person():
    x = COMPLETE[:1]
    res = lz_star(x, BANK, "2pl", method="ml")
    t = res["theta"][0]
    a, b = BANK["a"], BANK["b"]
    p = 1 / (1 + np.exp(-a * (t - b)))
    w = np.log(p / (1 - p))
    dp = a * p * (1 - p)
    r = dp / (p * (1 - p))  # = a
    c = np.sum(dp * w) / np.sum(dp * r)
    tau2 = np.mean((w - c * r) ** 2 * p * (1 - p))
    expect = np.sum((x[0] - p) * w) / np.sqrt(30 * tau2)
    assert res["lz_star"][0] == pytest.approx(expect, rel=1e-9)


def test_lz_star_rejects_polytomous_items():
    with pytest.raises(ValueError, match="dichotomous"):
        lz_star(np.zeros((2, 3)), random_bank(3, "grm"), "grm")


@pytest.mark.parametrize("data", [COMPLETE, SPARSE], ids=["complete", "half-missing"])
def test_rmsd_and_infit_outfit_are_small_under_the_model(data):
    rmsd = item_rmsd(data, BANK, "2pl")
    assert np.all(rmsd["rmsd"] < 0.06)
    assert rmsd["n"].sum() == np.sum(~np.isnan(data))
    fit = posterior_infit_outfit(data, BANK, "2pl")
    assert np.all(np.abs(fit["infit"] - 1) < 0.2) and np.all(
        np.abs(fit["outfit"] - 1) < 0.45
    )  # outfit: heavy-tailed for steep items
    assert abs(np.mean(fit["infit"]) - 1) < 0.03
    assert abs(np.mean(fit["outfit"]) - 1) < 0.05


def test_rmsd_and_outfit_flag_a_misfitting_item_in_sparse_data():
    wrong = {k: v.copy() for k, v in BANK.items()}
    wrong["b"][0] += 1.0  # item 0 is harder than its parameters say
    wrong["a"][1] = 0.2  # item 1 barely discriminates
    x = simulate_responses(wrong, THETA, "2pl", seed=3)
    x = np.where(np.isnan(SPARSE), np.nan, x)
    rmsd = item_rmsd(x, BANK, "2pl")["rmsd"]
    assert rmsd[0] > 0.1 and rmsd[1] > 0.1 and np.all(rmsd[2:] < 0.07)
    fit = posterior_infit_outfit(x, BANK, "2pl")
    assert fit["outfit"][1] > 1.5 and fit["infit"][1] > 1.3


def test_polytomous_rmsd_on_the_expected_score_scale():
    bank = random_bank(10, "grm", seed=5)
    x = simulate_responses(bank, THETA[:1500], "grm", seed=6)
    rmsd = item_rmsd(x, bank, "grm")["rmsd"]
    assert np.all(rmsd < 0.06)
