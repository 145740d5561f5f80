"""Fixed-item (online) calibration: known items hold the scale, new items land on it."""

import numpy as np
import pytest

from competency.irt import fit
from competency.irt.simulate import random_bank, simulate_responses


@pytest.mark.slow
@pytest.mark.parametrize("model", ["2pl", "grm"])
def test_pilot_items_are_calibrated_on_the_operational_scale(model):
    rng = np.random.default_rng(21)
    bank = random_bank(20, model, seed=rng)
    theta = rng.normal(0.5, 1.3, 3000)  # the new sample is abler and more spread out
    x = simulate_responses(bank, theta, model, seed=rng)
    operational = range(15)
    key = "b" if model == "2pl" else "thresholds"
    fixed = {j: {"a": bank["a"][j], key: bank[key][j]} for j in operational}
    r = fit(x, model, fixed=fixed)
    assert r.converged
    assert r.latent_mean == pytest.approx(0.5, abs=0.1)
    assert r.latent_sd == pytest.approx(1.3, abs=0.1)
    np.testing.assert_array_equal(r.params["a"][:15], bank["a"][:15])
    assert np.all(np.isnan(r.se["a"][:15])) and np.all(np.isfinite(r.se["a"][15:]))
    np.testing.assert_allclose(r.params["a"][15:], bank["a"][15:], atol=0.25)
    np.testing.assert_allclose(r.params[key][15:], bank[key][15:], atol=0.25)
    # Without the anchors the scale would be the new sample's own N(0, 1): clearly different.
    free = fit(x, model, se=False)
    assert np.mean(np.abs(free.params[key][15:] - bank[key][15:])) > 0.3


def test_fixed_items_validate_their_parameters():
    x = simulate_responses(random_bank(5, "2pl", seed=1), np.zeros(50), "2pl", seed=2)
    with pytest.raises(ValueError, match="fixed: item 2"):
        fit(x, "2pl", fixed={2: {"a": 1.0}})
    with pytest.raises(ValueError, match="out of range"):
        fit(x, "2pl", fixed={9: {"a": 1.0, "b": 0.0}})


def test_an_anchor_without_responses_is_allowed():
    rng = np.random.default_rng(3)
    bank = random_bank(6, "2pl", seed=rng)
    x = simulate_responses(bank, rng.normal(size=800), "2pl", seed=rng)
    x[:, 0] = np.nan
    r = fit(x, "2pl", fixed={0: {"a": 1.0, "b": 0.0}, 1: {"a": bank["a"][1], "b": bank["b"][1]}})
    assert r.converged and r.params["b"][0] == 0.0
    assert np.all(np.isfinite(r.params["b"][2:]))
