"""Stocking–Lord and Haebara linking recover a known transformation; drift flags a moved item."""

import numpy as np
import pytest

from competency.irt import fit
from competency.irt.linking import drift, haebara, mean_sigma, stocking_lord, transform
from competency.irt.simulate import random_bank, simulate_responses

A_TRUE, B_TRUE = 1.25, -0.4  # θ_base = A·θ_new + B


@pytest.mark.parametrize("model", ["2pl", "3pl", "grm"])
def test_exact_parameters_give_the_exact_transformation(model):
    base = random_bank(15, model, seed=1)
    # the same items calibrated on a scale where θ_new = (θ_base − B)/A
    new = transform(base, 1 / A_TRUE, -B_TRUE / A_TRUE)
    for method in (stocking_lord, haebara):
        a_const, b_const = method(base, new, model)
        assert a_const == pytest.approx(A_TRUE, abs=1e-6) and b_const == pytest.approx(B_TRUE, abs=1e-6)
    np.testing.assert_allclose(transform(new, A_TRUE, B_TRUE)["a"], base["a"])


@pytest.mark.slow
def test_independent_calibrations_recover_a_known_a_and_b_within_002():
    bank = random_bank(25, "2pl", seed=7)
    rng = np.random.default_rng(3)
    base_fit = fit(simulate_responses(bank, rng.normal(0, 1, 20000), "2pl", seed=4), "2pl", se=False)
    # the new group's θ ~ N(B, A²); its calibration fixes N(0, 1), i.e. θ_new = (θ − B)/A
    new_fit = fit(simulate_responses(bank, rng.normal(B_TRUE, A_TRUE, 20000), "2pl", seed=5), "2pl", se=False)
    for method in (stocking_lord, haebara):
        a_const, b_const = method(base_fit.params, new_fit.params, "2pl")
        assert a_const == pytest.approx(A_TRUE, abs=0.02), method.__name__
        assert b_const == pytest.approx(B_TRUE, abs=0.02), method.__name__
    a_ms, b_ms = mean_sigma(base_fit.params, new_fit.params, "2pl")
    assert a_ms == pytest.approx(A_TRUE, abs=0.1) and b_ms == pytest.approx(B_TRUE, abs=0.1)


@pytest.mark.slow
def test_drift_flags_only_the_item_that_moved():
    bank = random_bank(20, "2pl", seed=2)
    moved = {k: v.copy() for k, v in bank.items()}
    moved["b"][5] += 0.6
    rng = np.random.default_rng(1)
    old = fit(simulate_responses(bank, rng.normal(size=5000), "2pl", seed=1), "2pl")
    new = fit(simulate_responses(moved, rng.normal(size=5000), "2pl", seed=2), "2pl")
    a_const, b_const = stocking_lord(old.params, new.params, "2pl")
    res = drift(old.params, old.se, transform(new.params, a_const, b_const), new.se)
    assert res["flag"][5] and res["delta_b"][5] == pytest.approx(0.6, abs=0.2)
    assert res["flag"].sum() == 1
    assert np.all(res["se_delta_b"] > 0)
