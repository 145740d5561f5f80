"""Bad input: a ValueError naming the item, column or row — never silent NaN parameters."""

import warnings

import numpy as np
import pytest

from competency.irt import ConvergenceWarning, fit, score
from competency.irt.simulate import random_bank, simulate_responses


@pytest.fixture(scope="module")
def binary():
    return simulate_responses(random_bank(6, "2pl", seed=1), np.random.default_rng(0).normal(size=300), "2pl")


def test_non_numeric_value_names_the_column(binary):
    x = binary.astype(object)
    x[4, 2] = "yes"
    with pytest.raises(ValueError, match=r"item 2 \(column 2\), row 4: non-numeric"):
        fit(x)


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (2.0, "category 2, outside the 2pl"),
        (0.5, "not a category"),
        (-1.0, "not a category"),
        (np.inf, "infinite"),
    ],
)
def test_categories_outside_the_model(binary, value, match):
    x = binary.copy()
    x[7, 3] = value
    with pytest.raises(ValueError, match=match) as err:
        fit(x, "2pl")
    assert "item 3" in str(err.value)


def test_empty_rows_and_items(binary):
    x = binary.copy()
    x[5] = np.nan
    with pytest.raises(ValueError, match="row 5 has no responses"):
        fit(x)
    x = binary.copy()
    x[:, 1] = np.nan
    with pytest.raises(ValueError, match=r"item 1 \(column 1\) has no responses"):
        fit(x)


def test_item_without_variance(binary):
    x = binary.copy()
    x[:, 4] = 1.0
    with pytest.raises(ValueError, match=r"item 4 \(column 4\) has no variance"):
        fit(x)


def test_polytomous_model_on_binary_data(binary):
    with pytest.raises(ValueError, match="grm model needs polytomous items"):
        fit(binary, "grm")


def test_unused_middle_category_is_reported():
    x = np.tile(np.array([[0, 2, 1], [2, 0, 2], [1, 1, 0], [2, 2, 2], [0, 0, 1]], dtype=float), (20, 1))
    x[:, 0] = np.where(x[:, 0] == 1, 2, x[:, 0])
    with pytest.raises(ValueError, match=r"item 0 \(column 0\) never uses category 1"):
        fit(x, "grm")


def test_unknown_model_and_bad_weights(binary):
    with pytest.raises(ValueError, match="unknown item model"):
        fit(binary, "4pl")
    with pytest.raises(ValueError, match="weights: row 3"):
        fit(binary, weights=np.r_[1, 1, 1, -1, np.ones(296)])
    with pytest.raises(ValueError, match="weights: expected 300"):
        fit(binary, weights=np.ones(3))


@pytest.mark.parametrize(
    ("params", "model", "match"),
    [
        ({"a": [1, 1], "b": [0, np.nan]}, "2pl", "item 1: difficulty b"),
        (
            {"a": [1, 1], "b": [0, 0], "c": [0.1, 1.2]},
            "3pl",
            r"item 1: lower asymptote c must lie in \[0, 1\)",
        ),
        ({"a": [1, 1], "thresholds": [[0, -1], [0, 1]]}, "grm", "item 0: GRM thresholds must increase"),
        ({"a": [1, -1], "thresholds": [[0, 1], [0, 1]]}, "grm", "item 1: GRM slope must be positive"),
        (
            {"a": [1, 1], "thresholds": [[0, np.nan, 1], [0, 1, 2]]},
            "gpcm",
            "item 0: thresholds must be finite",
        ),
        ({"a": [1, np.inf], "b": [0, 0]}, "2pl", "item 1: slope a must be finite"),
    ],
)
def test_parameters_out_of_range_name_the_item(params, model, match):
    with pytest.raises(ValueError, match=match):
        score(np.array([[1.0, 0.0]]), params, model=model)


def test_score_rejects_a_category_the_item_does_not_have():
    params = {"a": [1.0, 1.0], "thresholds": [[-1.0, 1.0], [0.0, np.nan]]}
    with pytest.raises(ValueError, match=r"item 1 \(column 1\), row 0: category 2 outside"):
        score(np.array([[2.0, 2.0]]), params, model="grm")


def test_non_convergence_is_reported_not_hidden(binary):
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        r = fit(binary, "2pl", max_iter=2, accelerate=False, se=False)
    assert r.converged is False and r.iterations == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fit(binary, "2pl", se=False).converged


def test_latent_distribution_needs_anchors(binary):
    with pytest.raises(ValueError, match="estimate_latent"):
        fit(binary, "2pl", estimate_latent=True)
