"""Classification accuracy and consistency (Rudner's method) against exact values and simulation."""

from __future__ import annotations

import numpy as np
import pytest

from competency.irt import classification as C


def test_level_probabilities_are_normal_masses_between_cuts():
    probs = C.level_probabilities([0.0, 1.0], [1.0, 0.5], [-1.0, 0.0, 1.0])
    assert probs.shape == (2, 4)
    assert np.allclose(probs.sum(axis=1), 1.0)
    # θ̂ = 0, SE = 1: Φ(-1), Φ(0) − Φ(-1), Φ(1) − Φ(0), 1 − Φ(1)
    assert probs[0] == pytest.approx([0.158655, 0.341345, 0.341345, 0.158655], abs=1e-6)


def test_rudner_on_a_cut_is_a_coin_toss():
    agreement = C.rudner([0.0], [1.0], [0.0])
    assert agreement.accuracy == pytest.approx(0.5)
    assert agreement.consistency == pytest.approx(0.5)


def test_rudner_is_certain_far_from_every_cut():
    agreement = C.rudner([-3.0, 3.0], [0.01, 0.01], [0.0])
    assert agreement.accuracy == pytest.approx(1.0) and agreement.consistency == pytest.approx(1.0)


def test_rudner_predicts_the_accuracy_of_a_bayesian_measurement():
    """θ ~ N(0, 1) measured with N(0, σ²) error: the posterior is normal, so Rudner's expected accuracy
    from the posterior mean and SD must match the share actually classified right."""
    rng = np.random.default_rng(3)
    n, sigma = 40_000, 0.5
    truth = rng.standard_normal(n)
    observed = truth + sigma * rng.standard_normal(n)
    shrink = 1 / (1 + sigma**2)
    theta_hat, se = shrink * observed, np.full(n, np.sqrt(sigma**2 * shrink))
    cuts = [-0.75, 0.75]
    expected = C.rudner(theta_hat, se, cuts)
    actual = C.simulated(C.classify(truth, cuts), C.classify(theta_hat, cuts))
    assert expected.accuracy == pytest.approx(actual, abs=0.01)
    assert expected.consistency < expected.accuracy  # two noisy tests agree less often than one is right


def test_composite_rudner_matches_the_closed_form_for_one_dimension():
    rng = np.random.default_rng(1)
    theta = rng.normal(size=(300, 1))
    se = np.full((300, 1), 0.4)
    cuts = [-1.0, 0.0, 1.0]
    exact = C.rudner(theta[:, 0], se[:, 0], cuts)
    drawn = C.rudner_composite(theta, se, lambda th: C.classify(th[:, 0], cuts), draws=4000)
    assert drawn.accuracy == pytest.approx(exact.accuracy, abs=0.01)
    assert drawn.consistency == pytest.approx(exact.consistency, abs=0.01)


def test_wilson_interval_known_values():
    lo, hi = C.wilson_interval(0.5, 100)
    assert (lo, hi) == pytest.approx((0.4038, 0.5962), abs=1e-4)
    assert C.wilson_interval(1.0, 20)[1] == 1.0


def test_likely_range_in_plain_levels():
    cuts = [-1.5, -0.75, 0.0, 0.75, 1.5]
    assert C.likely_range(0.3, 0.45, cuts) == (2, 4)  # L4, most likely between L3 and L5
    assert C.likely_range(3.0, 0.1, cuts) == (5, 5)


def test_composite_with_correlated_errors_matches_the_simulated_truth():
    """Errors correlated at .6 make the mean of five θ̂s less precise than independent errors say;
    with the covariance, the expected accuracy agrees with a simulation of true and estimated levels."""
    rng = np.random.default_rng(3)
    n, dims, se, rho = 4000, 5, 0.4, 0.6
    cov1 = se**2 * (rho * np.ones((dims, dims)) + (1 - rho) * np.eye(dims))
    truth = rng.standard_normal((n, 1)) * 0.8 + rng.standard_normal((n, dims)) * 0.4
    theta = truth + rng.multivariate_normal(np.zeros(dims), cov1, size=n)
    cuts = [-0.75, 0.0, 0.75]

    def grade(th):
        return C.classify(th.mean(axis=1), cuts)

    simulated = C.simulated(grade(truth), grade(theta))
    cov = np.broadcast_to(cov1, (n, dims, dims))
    with_cov = C.rudner_composite(theta, np.full((n, dims), se), grade, draws=200, cov=cov)
    independent = C.rudner_composite(theta, np.full((n, dims), se), grade, draws=200)
    assert with_cov.accuracy == pytest.approx(simulated, abs=0.03)
    assert independent.accuracy > with_cov.accuracy + 0.05
