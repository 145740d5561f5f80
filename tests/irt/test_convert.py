"""IRT form ↔ slope–intercept form, with delta-method standard errors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from competency.irt import fit
from competency.irt.convert import from_slope_intercept, to_slope_intercept
from competency.irt.items import item_set

finite = st.floats(-4.0, 4.0)


@settings(max_examples=60, deadline=None)
@given(
    st.floats(0.2, 3.0), finite, st.floats(0.0, 0.4), st.lists(finite, min_size=1, max_size=4, unique=True)
)
def test_round_trip_and_same_probabilities(a, b, c, steps):
    irt = {"a": np.array([a]), "b": np.array([b]), "c": np.array([c])}
    si, _ = to_slope_intercept(irt)
    back, _ = from_slope_intercept(si)
    for k in irt:
        np.testing.assert_allclose(back[k], irt[k], rtol=1e-12, atol=1e-12)
    theta = np.linspace(-3, 3, 7)
    p_si = c + (1 - c) / (1 + np.exp(-(si["a1"][0] * theta + si["d"][0])))
    np.testing.assert_allclose(item_set(irt, "3pl").category_probs(theta)[:, 0, 1], p_si, rtol=1e-12)
    t = np.sort(np.array(steps))
    poly = {"a": np.array([a]), "thresholds": t[None, :]}
    si, _ = to_slope_intercept(poly)
    np.testing.assert_allclose(si["d"], -a * t[None, :])
    back, _ = from_slope_intercept(si)
    np.testing.assert_allclose(back["thresholds"], poly["thresholds"], atol=1e-12)


def test_delta_method_standard_errors(lsat7):
    pat, freq = lsat7
    r = fit(pat, "2pl", weights=freq, tol=1e-6)
    si, se = to_slope_intercept(r.params, r.cov_irt)
    cov = r.cov_irt
    a, b = r.params["a"], r.params["b"]
    var_d = b**2 * cov[:, 0, 0] + a**2 * cov[:, 1, 1] + 2 * a * b * cov[:, 0, 1]
    np.testing.assert_allclose(se["d"], np.sqrt(var_d), rtol=1e-10)
    np.testing.assert_allclose(se["a1"], r.se["a"], rtol=1e-10)
    # Back again: the IRT covariance must reproduce the IRT SEs the fit reported.
    n = a.size
    jac = np.zeros((n, 3, 3))
    jac[:, 0, 0], jac[:, 1, 0], jac[:, 1, 1], jac[:, 2, 2] = 1, -b, -a, 1
    cov_si = np.einsum("nij,njk,nlk->nil", jac, np.nan_to_num(cov), jac)
    _, se_back = from_slope_intercept(si, cov_si)
    np.testing.assert_allclose(se_back["b"], r.se["b"], rtol=1e-8)


def test_mixed_dicts_keep_each_item_in_its_own_column():
    params = {
        "a": np.array([1.0, 2.0]),
        "b": np.array([0.5, np.nan]),
        "thresholds": np.array([[np.nan, np.nan], [-1.0, 1.0]]),
        "model": np.array(["2pl", "grm"]),
    }
    si, _ = to_slope_intercept(params)
    np.testing.assert_allclose(si["d"], [[-0.5, np.nan], [2.0, -2.0]])
    back, _ = from_slope_intercept(si)
    np.testing.assert_allclose(back["thresholds"], [[0.5, np.nan], [-1.0, 1.0]])


def test_zero_slope_cannot_be_converted():
    with pytest.raises(ValueError, match="item 0 has slope 0"):
        from_slope_intercept({"a1": np.array([0.0]), "d": np.array([1.0])})
