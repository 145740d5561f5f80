"""Stopping rules: SE target, length bounds, classification by confidence interval and SPRT."""

from __future__ import annotations

import numpy as np
import pytest

from competency.irt.cat import simulate

from .banks import make_2pl_bank

BANK = make_2pl_bank(300, seed=8)
TRUTH = np.random.default_rng(3).normal(0, 1, 300)
CUTS = [-0.8, 0.8]


def test_se_target_and_length_bounds():
    report = simulate(BANK, TRUTH, se_target=0.35, min_items=8, max_items=25)
    assert report.lengths.min() >= 8 and report.lengths.max() <= 25
    hit = report.lengths < 25
    assert np.all(report.se[hit] <= 0.35 + 1e-9)
    assert set(report.stop_reasons) <= {"se_target", "max_items"}
    assert report.stop_reasons["se_target"] == hit.sum()


@pytest.mark.parametrize("rule", ["ci", "sprt"])
def test_classification_rules_classify_accurately_and_early(rule):
    fixed = simulate(BANK, TRUTH, se_target=None, min_items=30, max_items=30)
    report = simulate(
        BANK, TRUTH, se_target=None, cut_scores=CUTS, classification=rule, min_items=5, max_items=30
    )
    assert report.stop_reasons.get(f"classification_{rule}", 0) > 0.4 * TRUTH.size
    assert report.lengths.mean() < 0.85 * fixed.lengths.mean()
    assert report.classification_accuracy[0] > 0.8
    # Examinees far from every cut are classified quickly.
    far = np.min(np.abs(TRUTH[:, None] - np.array(CUTS)[None, :]), axis=1) > 0.6
    assert report.lengths[far].mean() < report.lengths[~far].mean()


def test_ci_rule_stops_only_when_interval_excludes_cuts():
    report = simulate(
        BANK,
        TRUTH,
        se_target=None,
        cut_scores=CUTS,
        classification="ci",
        ci_level=0.9,
        min_items=5,
        max_items=30,
    )
    lo = report.theta - 1.6449 * report.se
    hi = report.theta + 1.6449 * report.se
    classified = report.lengths < 30
    inside = ((np.array(CUTS)[None, :] > lo[:, None]) & (np.array(CUTS)[None, :] < hi[:, None])).any(axis=1)
    assert not np.any(inside & classified)
