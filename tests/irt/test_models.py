"""Item kernels: shapes, padding, derivatives against numerical ones, information identities."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from competency.irt import models as km
from competency.irt.items import item_set
from competency.irt.mstep import Block, probs_and_jacobian

THETA = np.linspace(-4, 4, 17)
A = np.array([0.8, 1.5, 2.2])
THRESH = np.array([[-1.0, 0.2, np.nan], [-0.5, 0.4, 1.6], [0.3, np.nan, np.nan]])


def numeric(f, x, h=1e-6):
    return (f(x + h) - f(x - h)) / (2 * h)


@pytest.mark.parametrize(
    ("probs", "dprobs"),
    [
        (km.category_probs_grm, km.dcategory_probs_grm),
        (km.category_probs_gpcm, km.dcategory_probs_gpcm),
    ],
)
def test_polytomous_probabilities_sum_to_one_and_padding_is_zero(probs, dprobs):
    p = probs(THETA, A, THRESH)
    assert p.shape == (17, 3, 4)
    np.testing.assert_allclose(p.sum(axis=2), 1.0, atol=1e-12)
    assert np.all(p[:, 0, 3] == 0) and np.all(p[:, 2, 2:] == 0)
    np.testing.assert_allclose(
        dprobs(THETA, A, THRESH), numeric(lambda t: probs(t, A, THRESH), THETA), atol=1e-7
    )


def test_dichotomous_derivative_and_information():
    b, c = np.array([-1.0, 0.0, 1.5]), np.array([0.0, 0.2, 0.25])
    p = km.prob_dichotomous(THETA, A, b, c)
    dp = km.dprob_dichotomous(THETA, A, b, c)
    np.testing.assert_allclose(dp, numeric(lambda t: km.prob_dichotomous(t, A, b, c), THETA), atol=1e-7)
    np.testing.assert_allclose(km.info_dichotomous(THETA, A, b, c), dp**2 / (p * (1 - p)), rtol=1e-10)
    np.testing.assert_allclose(
        km.info_dichotomous(THETA, A, b),
        (A**2) * km.prob_dichotomous(THETA, A, b) * (1 - km.prob_dichotomous(THETA, A, b)),
    )


@pytest.mark.parametrize(
    ("probs", "dprobs", "info"),
    [
        (km.category_probs_grm, km.dcategory_probs_grm, km.info_grm),
        (km.category_probs_gpcm, km.dcategory_probs_gpcm, km.info_gpcm),
    ],
)
def test_polytomous_information_is_sum_of_squared_slopes_over_p(probs, dprobs, info):
    p, dp = probs(THETA, A, THRESH), dprobs(THETA, A, THRESH)
    expected = np.sum(np.where(p > 0, dp**2 / np.where(p > 0, p, 1), 0), axis=2)
    np.testing.assert_allclose(info(THETA, A, THRESH), expected, rtol=1e-9, atol=1e-14)


def test_grm_with_two_categories_is_2pl():
    b = np.array([[-0.5], [0.3], [1.0]])
    np.testing.assert_allclose(
        km.category_probs_grm(THETA, A, b)[:, :, 1], km.prob_dichotomous(THETA, A, b[:, 0])
    )
    np.testing.assert_allclose(km.info_grm(THETA, A, b), km.info_dichotomous(THETA, A, b[:, 0]))
    np.testing.assert_allclose(km.info_gpcm(THETA, A, b), km.info_dichotomous(THETA, A, b[:, 0]))


@pytest.mark.parametrize("kind", ["dich2", "dich3", "grm", "gpcm"])
def test_estimation_jacobian_matches_numerical(kind):
    if kind.startswith("dich"):
        eta = np.array([[1.2, 0.4, -1.5], [0.7, -1.0, -2.0]])
        if kind == "dich2":
            eta = eta[:, :2]
        block = Block(
            "dich",
            np.arange(2),
            eta,
            np.ones(2, bool),
            has_guess=kind == "dich3",
            n_categories=np.array([2, 2]),
        )
    else:
        eta = np.array([[1.3, 1.5, 0.2, -1.1], [0.8, 0.9, -0.4, np.nan]])
        block = Block(kind, np.arange(2), eta, np.ones(2, bool), n_categories=np.array([4, 3]))
    _, jac = probs_and_jacobian(block, THETA)
    for j in range(eta.shape[1]):

        def f(x, j=j):
            e = eta.copy()
            e[:, j] = np.where(np.isnan(e[:, j]), np.nan, x)
            return probs_and_jacobian(block, THETA, e)[0]

        num = numeric(f, eta[:, j])
        np.testing.assert_allclose(np.nan_to_num(jac[..., j]), np.nan_to_num(num), atol=1e-6)


def test_mixed_item_set_layout():
    params = {
        "a": [1.0, 1.2, 0.9],
        "b": [0.5, np.nan, np.nan],
        "c": [0.2, 0, 0],
        "thresholds": [[np.nan, np.nan], [-1.0, 1.0], [0.0, np.nan]],
        "model": ["3pl", "grm", "gpcm"],
    }
    items = item_set(params)
    p = items.category_probs(THETA)
    assert p.shape == (17, 3, 3)
    np.testing.assert_allclose(p.sum(axis=2), 1.0)
    np.testing.assert_allclose(p[:, 0, 1], km.prob_dichotomous(THETA, [1.0], [0.5], [0.2])[:, 0])
    assert np.all(p[:, 0, 2] == 0) and np.all(p[:, 2, 2] == 0)
    np.testing.assert_allclose(items.dcategory_probs(THETA), numeric(items.category_probs, THETA), atol=1e-7)


params_st = st.tuples(
    st.floats(0.2, 3.0),
    st.floats(-4.0, 4.0),
    st.floats(0.0, 0.4),
    st.floats(-5.0, 5.0),
    st.lists(st.floats(-3.0, 3.0), min_size=1, max_size=4, unique=True),
)


@settings(max_examples=60, deadline=None)
@given(params_st)
def test_probabilities_in_open_interval_and_information_nonnegative(args):
    a, b, c, theta, steps = args
    t = np.sort(np.array(steps))
    if t.size > 1 and np.min(np.diff(t)) < 1e-3:
        t = t[0] + np.arange(t.size) * 0.5
    th = np.array([theta])
    p = km.prob_dichotomous(th, [a], [b], [c])
    assert np.all((p > 0) & (p < 1))
    assert np.all(km.info_dichotomous(th, [a], [b], [c]) >= 0)
    for probs, info in ((km.category_probs_grm, km.info_grm), (km.category_probs_gpcm, km.info_gpcm)):
        pk = probs(th, [a], t[None, :])
        assert np.all((pk > 0) & (pk < 1))
        assert abs(pk.sum() - 1) < 1e-12
        assert np.all(info(th, [a], t[None, :]) >= 0)
