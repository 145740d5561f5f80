"""Ability estimation: EAP/MAP/ML/WLE for every model, mixed tests, sum-score EAP table."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from competency.irt import eap_sum_score_table, fit, score
from competency.irt.items import item_set
from competency.irt.quadrature import normal_grid
from competency.irt.simulate import random_bank, simulate_responses

MODELS = ["rasch", "1pl", "2pl", "3pl", "grm", "gpcm"]


def loglik(items, x, theta):
    p = items.category_probs(np.atleast_1d(theta))
    obs = ~np.isnan(x)
    cats = np.where(obs, x, 0).astype(int)
    return np.sum(np.log(p[:, np.arange(x.size), cats])[:, obs], axis=1)


def brute_posterior(items, x, mu=0.0, sd=1.0):
    z, w = normal_grid()
    theta = mu + sd * z
    post = np.exp(loglik(items, x, theta)) * w
    post /= post.sum()
    mean = post @ theta
    return mean, np.sqrt(post @ (theta - mean) ** 2)


@pytest.fixture(scope="module", params=MODELS)
def case(request):
    model = request.param
    bank = random_bank(12, model, seed=3)
    x = simulate_responses(bank, np.linspace(-2.5, 2.5, 40), model, seed=4)
    x[::7, 3] = np.nan
    return model, bank, x


def test_eap_is_posterior_mean_and_sd_on_the_grid(case):
    model, bank, x = case
    theta, se = score(x, bank, model=model, method="eap")
    items = item_set(bank, model)
    for i in (0, 13, 39):
        m, s = brute_posterior(items, x[i])
        assert theta[i] == pytest.approx(m, abs=1e-10) and se[i] == pytest.approx(s, abs=1e-10)


def test_map_and_ml_are_stationary_points(case):
    model, bank, x = case
    items = item_set(bank, model)
    h = 1e-5
    for method, penalty in (("ml", 0.0), ("map", 1.0)):
        theta, se = score(x, bank, model=model, method=method)
        for i in range(5, 35, 6):

            def obj(t, i=i, penalty=penalty):
                return loglik(items, x[i], t) - penalty * 0.5 * np.asarray(t) ** 2

            if abs(theta[i]) < 5.99:
                slope = (obj(theta[i] + h) - obj(theta[i] - h)) / (2 * h)
                assert abs(slope[0]) < 1e-5, (method, i)
                assert (
                    obj(theta[i])[0] >= obj(theta[i] + 0.05)[0]
                    and obj(theta[i])[0] >= obj(theta[i] - 0.05)[0]
                )
            info = items.information(np.array([theta[i]]))[0][~np.isnan(x[i])].sum()
            if abs(theta[i]) >= 5.99 and method == "ml":
                assert np.isinf(se[i])
                continue
            assert se[i] == pytest.approx(1 / np.sqrt(info + penalty), rel=1e-6)


def test_wle_solves_warms_equation_and_is_finite_for_extremes(case):
    model, bank, x = case
    items = item_set(bank, model)
    extremes = np.vstack([np.zeros(12), items.n_categories - 1.0])
    theta, se = score(np.vstack([x, extremes]), bank, model=model, method="wle")
    assert np.all(np.isfinite(theta)) and np.all(np.abs(theta) < 6)
    assert theta[-2] <= theta[:-2].min() and theta[-1] >= theta[:-2].max()
    h = 1e-4
    for i in (3, 20, 40, 41):
        row = np.vstack([x, extremes])[i]
        obs = ~np.isnan(row)
        t = theta[i]

        def info(t, obs=obs):
            return items.information(np.array([t]))[0][obs].sum()

        p, dp = items.category_probs(np.array([t]))[0], items.dcategory_probs(np.array([t]))[0]
        d2p = (items.dcategory_probs(np.array([t + h]))[0] - items.dcategory_probs(np.array([t - h]))[0]) / (
            2 * h
        )
        j = np.sum(np.where(p > 0, dp * d2p / np.where(p > 0, p, 1), 0)[obs])
        dl = (loglik(items, row, t + h)[0] - loglik(items, row, t - h)[0]) / (2 * h)
        assert abs(dl + j / (2 * info(t))) < 1e-4


def test_ml_extreme_patterns_go_to_the_bounds():
    bank = random_bank(8, "2pl", seed=1)
    theta, se = score(
        np.array([[1.0] * 8, [0.0] * 8, [1, 0, 1, 0, 1, 0, 1, 0]]), bank, method="ml", theta_bounds=(-5, 5)
    )
    assert theta[0] == 5 and theta[1] == -5 and np.isinf(se[:2]).all()
    assert -5 < theta[2] < 5 and np.isfinite(se[2])


def test_mixed_test_scoring_with_per_item_models():
    params = {
        "a": [1.0, 1.4, 0.9, 1.1],
        "b": [0.0, -0.5, np.nan, np.nan],
        "c": [0.0, 0.2, 0.0, 0.0],
        "thresholds": [[np.nan] * 3, [np.nan] * 3, [-1.0, 0.0, 1.0], [-0.5, 0.5, np.nan]],
    }
    models = ["2pl", "3pl", "grm", "gpcm"]
    x = np.array([[1, 0, 3, 2], [0, 1, 0, np.nan], [np.nan, 1, 2, 1]])
    theta, se = score(x, params, model=models)
    items = item_set(params, models)
    for i in range(3):
        m, s = brute_posterior(items, x[i])
        assert theta[i] == pytest.approx(m, abs=1e-10) and se[i] == pytest.approx(s, abs=1e-10)
    theta2, _ = score(x, dict(params, model=models), model=None)
    np.testing.assert_allclose(theta2, theta)


def test_rasch_sum_score_table_matches_pattern_eap():
    """Under the Rasch model the sum score is sufficient: every pattern with score s has the same EAP."""
    bank = random_bank(6, "rasch", seed=2)
    table = eap_sum_score_table(bank, "rasch", prior_sd=1.3)
    assert table["probability"].sum() == pytest.approx(1.0, abs=1e-12)
    x = np.array([[1, 1, 0, 0, 0, 0], [0, 0, 0, 0, 1, 1], [1, 1, 1, 1, 1, 0]], dtype=float)
    theta, se = score(x, bank, "rasch", prior_sd=1.3)
    np.testing.assert_allclose(theta, table["theta"][[2, 2, 5]], atol=1e-12)
    np.testing.assert_allclose(se, table["se"][[2, 2, 5]], atol=1e-12)


def test_score_takes_a_fit_result_with_its_latent_distribution():
    bank = random_bank(10, "rasch", seed=4)
    x = simulate_responses(bank, np.random.default_rng(0).normal(0, 1.6, 1500), "rasch", seed=5)
    r = fit(x, "rasch")
    assert r.latent_sd == pytest.approx(1.6, abs=0.12)
    t_fit, _ = score(x[:20], r)
    t_manual, _ = score(x[:20], r.params, "rasch", prior_sd=r.latent_sd)
    np.testing.assert_allclose(t_fit, t_manual)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.sampled_from([0.0, 1.0, np.nan]), min_size=6, max_size=6),
    st.floats(-1.0, 1.0),
    st.floats(0.5, 2.0),
)
def test_property_eap_se_is_posterior_sd(pattern, mu, sd):
    bank = random_bank(6, "3pl", seed=9)
    x = np.array([pattern])
    theta, se = score(x, bank, "3pl", prior_mean=mu, prior_sd=sd)
    m, s = brute_posterior(item_set(bank, "3pl"), x[0], mu, sd)
    assert theta[0] == pytest.approx(m, abs=1e-9)
    assert se[0] == pytest.approx(s, abs=1e-9)
    assert se[0] > 0


def test_empty_rows_get_the_prior_for_eap_and_an_error_for_ml():
    bank = random_bank(4, "2pl", seed=1)
    x = np.array([[np.nan] * 4, [1, 0, 1, 1]])
    theta, se = score(x, bank, prior_mean=0.3, prior_sd=1.2)
    assert theta[0] == pytest.approx(0.3, abs=1e-6) and se[0] == pytest.approx(1.2, abs=1e-3)
    with pytest.raises(ValueError, match="row 0"):
        score(x, bank, method="ml")
