"""Observed information: Louis' identity against central differences of the exact score."""

import numpy as np
import pytest

from competency.irt import fit
from competency.irt.simulate import random_bank, simulate_responses


@pytest.mark.parametrize("model", ["1pl", "3pl", "grm", "gpcm"])
def test_louis_information_equals_numerical_hessian(model):
    rng = np.random.default_rng(17)
    bank = random_bank(8, model, seed=rng)
    x = simulate_responses(bank, rng.normal(size=700), model, seed=rng)
    x[rng.random(x.shape) < 0.1] = np.nan  # missing responses take the other code path
    key = "b" if "b" in bank else "thresholds"
    fixed = {0: {"a": bank["a"][0], key: bank[key][0]}}
    if model == "3pl":
        fixed[0]["c"] = bank["c"][0]
    louis = fit(x, model, fixed=fixed, tol=1e-7, slope_prior=(0.0, 0.5))
    numerical = fit(x, model, fixed=fixed, tol=1e-7, slope_prior=(0.0, 0.5), se_method="numerical")
    for k, v in louis.se.items():
        np.testing.assert_allclose(v, numerical.se[k], rtol=1e-5, equal_nan=True)
    assert np.all(np.isfinite(louis.se["a"][1:]))
