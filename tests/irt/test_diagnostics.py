"""Diagnostics: S-X², infit/outfit, reliability, information and SE curves."""

import numpy as np
import pytest

from competency.irt import fit
from competency.irt.diagnostics import (
    empirical_reliability,
    infit_outfit,
    item_information,
    marginal_reliability,
    standard_error_curve,
    sx2,
)
from competency.irt.diagnostics import test_information as tif
from competency.irt.scoring import score
from competency.irt.simulate import random_bank, simulate_responses


@pytest.fixture(scope="module")
def misfit_data():
    """Rasch calibration of data in which items 0–3 are steep and items 4–7 have guessing."""
    rng = np.random.default_rng(13)
    # Guessing shows where low-ability people meet hard items: items 4–7 are hard.
    b = np.r_[rng.uniform(-1.5, 1.5, 4), [0.6, 0.9, 1.2, 1.5], rng.uniform(-1.5, 1.5, 8)]
    bank = {
        "a": np.r_[np.full(4, 2.8), np.ones(12)],
        "b": b,
        "c": np.r_[np.zeros(4), np.full(4, 0.35), np.zeros(8)],
    }
    x = simulate_responses(bank, rng.normal(size=3000), "3pl", seed=rng)
    return x, fit(x, "rasch")


def test_sx2_flags_misfitting_items_only(misfit_data):
    x, r = misfit_data
    out = sx2(x, r)
    assert np.all(out["p"][:8] < 0.01)
    assert np.mean(out["p"][8:] > 0.01) >= 0.75
    assert np.all(out["df"] > 0)


def test_sx2_is_calibrated_under_the_true_model():
    rng = np.random.default_rng(2)
    for model in ("2pl", "gpcm"):
        bank = random_bank(12, model, seed=rng)
        x = simulate_responses(bank, rng.normal(size=2500), model, seed=rng)
        out = sx2(x, bank, model)
        # E[S-X²] ≈ df when the model holds; generous band for 12 items.
        ratio = out["S_X2"].sum() / out["df"].sum()
        assert 0.7 < ratio < 1.3, (model, ratio)


def test_sx2_df_counts_only_categories_an_item_can_take_at_a_score():
    """Without pooling, a polytomous item cannot take every category at every sum score (category 2
    at a sum of 1, say): such cells are empty by construction and are no contrasts of the df."""
    rng = np.random.default_rng(5)
    bank = random_bank(6, "gpcm", seed=rng)
    x = simulate_responses(bank, rng.normal(size=3000), "gpcm", seed=rng)
    out = sx2(x, bank, "gpcm", mincell=0)
    cats = [len(row) + 1 for row in np.asarray(bank["thresholds"])]
    top = sum(k - 1 for k in cats)
    for i, k in enumerate(cats):
        rest = top - (k - 1)
        cells = sum(sum(1 for c in range(k) if 0 <= s - c <= rest) for s in range(1, top))
        groups = top - 1  # every inner score is its own group without pooling
        n_par = k  # GPCM: a slope and K−1 steps
        assert out["df"][i] == cells - groups - n_par
    pooled = sx2(x, bank, "gpcm")  # pooled groups: every kept cell is a contrast
    assert np.all(pooled["df"] > 0)


def test_infit_outfit_separate_steep_from_flat_items(misfit_data):
    x, r = misfit_data
    theta, _ = score(x, r, method="wle")
    fitstats = infit_outfit(x, r, theta=theta)
    # Steep items overfit (mean squares below 1); guessing items underfit (outfit above 1).
    assert np.all(fitstats["infit"][:4] < 0.9) and np.all(fitstats["outfit"][:4] < 0.9)
    assert np.all(fitstats["outfit"][4:8] > 1.05)
    assert np.all(np.abs(fitstats["infit"][8:] - 1) < 0.15)


def test_information_curves_and_reliability():
    bank = random_bank(20, "2pl", seed=3)
    theta = np.linspace(-3, 3, 13)
    info = item_information(theta, bank, "2pl")
    np.testing.assert_allclose(tif(theta, bank, "2pl"), info.sum(axis=1))
    np.testing.assert_allclose(standard_error_curve(theta, bank, "2pl"), 1 / np.sqrt(info.sum(axis=1)))
    half = {k: v[:10] for k, v in bank.items()}
    full_rel, half_rel = marginal_reliability(bank, "2pl"), marginal_reliability(half, "2pl")
    assert 0 < half_rel < full_rel < 1
    x = simulate_responses(bank, np.random.default_rng(1).normal(size=4000), "2pl", seed=2)
    t, se = score(x, bank)
    assert empirical_reliability(t, se) == pytest.approx(full_rel, abs=0.04)


def test_sx2_needs_complete_data(misfit_data):
    x, r = misfit_data
    y = x.copy()
    y[0, 5] = np.nan
    with pytest.raises(ValueError, match=r"item 5 \(column 5\) has missing"):
        sx2(y, r)
