"""eap_sparse (grading's per-indicator EAP) against the general scorer on the same responses."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from competency.irt import score
from competency.irt.items import item_set
from competency.irt.scoring import eap_sparse
from competency.irt.simulate import random_bank, simulate_responses

MODELS = ["rasch", "2pl", "3pl", "grm", "gpcm"]


@settings(max_examples=60, deadline=None)
@given(
    model=st.sampled_from(MODELS),
    n_rows=st.integers(1, 5),
    seed=st.integers(0, 10_000),
    prior_mean=st.floats(-2.5, 2.5),
    prior_sd=st.floats(0.5, 2.0),
)
def test_equals_score_on_the_matching_response_matrix(model, n_rows, seed, prior_mean, prior_sd):
    rng = np.random.default_rng(seed)
    n_items = 9
    bank = random_bank(n_items, model, seed=seed)
    full = simulate_responses(bank, rng.normal(size=n_rows), model, seed=seed)
    # each item answered by at most one row (an item measures one indicator); some not at all
    owner = rng.integers(-1, n_rows, n_items)
    x = np.full((n_rows, n_items), np.nan)
    for item, row in enumerate(owner):
        if row >= 0:
            x[row, item] = full[row, item]
    answered = [(int(row), item, int(x[row, item])) for item, row in enumerate(owner) if row >= 0]
    rows, columns, categories = (list(v) for v in zip(*answered, strict=True)) if answered else ([], [], [])

    theta, se = eap_sparse(
        item_set(bank, model), rows, columns, categories, n_rows, prior_mean=prior_mean, prior_sd=prior_sd
    )

    expected = score(x, bank, model=model, method="eap", prior_mean=prior_mean, prior_sd=prior_sd)
    assert theta == pytest.approx(expected[0], abs=1e-10)
    assert se == pytest.approx(expected[1], abs=1e-10)


def test_a_row_without_responses_gets_the_prior():
    bank = random_bank(3, "2pl", seed=1)
    theta, se = eap_sparse(item_set(bank, "2pl"), [0], [1], [1], 2, prior_mean=0.4, prior_sd=1.0)
    assert theta[1] == pytest.approx(0.4, abs=1e-6) and se[1] == pytest.approx(1.0, abs=1e-3)
    assert theta[0] > 0.4


def test_a_category_outside_the_item_is_refused():
    bank = random_bank(3, "2pl", seed=1)
    with pytest.raises(ValueError, match=r"categories\[1\]"):
        eap_sparse(item_set(bank, "2pl"), [0, 0], [0, 2], [1, 2], 1)
