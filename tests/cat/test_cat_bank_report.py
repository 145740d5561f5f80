"""Bank files, the simulation report, its SVG and the CLI entry point."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from competency.irt import models as kernels
from competency.irt.cat import Bank, BankError, load_bank, run_simulation_report

from .banks import make_mixed_bank


def test_tables_are_the_kernels_on_the_grid():
    bank = Bank.from_arrays(make_mixed_bank(40))
    prob, logp, info = bank.tables
    g = bank.grid.theta
    i = int(np.flatnonzero(bank.model == "3pl")[0])
    p = kernels.prob_dichotomous(g, bank.a[i : i + 1], bank.b[i : i + 1], bank.c[i : i + 1])[:, 0]
    np.testing.assert_allclose(prob[i, 1], p)
    np.testing.assert_allclose(
        info[:, i], kernels.info_dichotomous(g, bank.a[i : i + 1], bank.b[i : i + 1], bank.c[i : i + 1])[:, 0]
    )
    j = int(np.flatnonzero(bank.model == "grm")[0])
    k = int(bank.n_cats[j])
    np.testing.assert_allclose(prob[j, :k].sum(axis=0), 1.0)
    assert np.all(np.isneginf(logp[j, k:]))


def test_bad_banks_name_the_field():
    with pytest.raises(BankError, match="duplicate"):
        Bank.from_items([{"id": "x", "a": 1, "b": 0}, {"id": "x", "a": 1, "b": 0}])
    with pytest.raises(BankError, match="unknown model"):
        Bank.from_items([{"id": "x", "model": "4pl", "a": 1, "b": 0}])
    with pytest.raises(BankError, match="enemies"):
        Bank.from_items([{"id": "x", "a": 1, "b": 0, "enemies": ["y"]}])
    with pytest.raises(BankError, match="increasing"):
        Bank.from_items([{"id": "x", "model": "grm", "a": 1, "thresholds": [1, 0]}])


def test_project_item_file_and_simple_file(tmp_path):
    project = {
        "format": "competency.items/1",
        "bank": "demo",
        "items": [
            {
                "id": f"T-{k}",
                "type": "single",
                "node": f"T{1 + k % 5}.1.1",
                "irt": {
                    "model": "2pl",
                    "a": 1.0 + 0.1 * (k % 4),
                    "b": -2 + 0.1 * k,
                    "c": None,
                    "thresholds": None,
                    "parameterisation": "logistic-D1-irt",
                    "source": "provisional",
                    "version": 1,
                },
            }
            for k in range(40)
        ]
        + [
            {
                "id": "T-ord",
                "type": "ordered",
                "node": "T3.1.2",
                "irt": {"model": "grm", "a": 1.1, "b": None, "thresholds": [-1, 0, 1]},
            },
            {
                "id": "T-new",
                "type": "single",
                "node": "T2.1.1",
                "irt": {"model": "2pl", "a": None, "b": None},
            },
        ],
    }
    path = tmp_path / "items.json"
    path.write_text(json.dumps(project), encoding="utf-8")
    bank = load_bank(str(path))
    assert bank.dimension_codes == ("T1", "T2", "T3", "T4", "T5")
    assert bank.pilot[bank.index["T-new"]] and not bank.operational[bank.index["T-new"]]
    assert bank.n_cats[bank.index["T-ord"]] == 4
    simple = {"items": [{"id": f"q{k}", "model": "2pl", "a": 1.2, "b": k / 10 - 1} for k in range(20)]}
    assert len(load_bank(simple)) == 20

    calls = []
    svg = tmp_path / "sim.svg"
    report = run_simulation_report(
        str(path), 120, seed=1, progress=lambda d, t: calls.append((d, t)), plot_path=str(svg), se_target=0.4
    )
    assert calls[-1] == (120, 120)
    text = report.to_text()
    for word in ("bias", "RMSE", "length", "exposure", "overlap", "stop reasons", "conditional"):
        assert word in text
    root = ET.fromstring(svg.read_text(encoding="utf-8"))
    assert root.tag.endswith("svg") and len(root.findall(".//{http://www.w3.org/2000/svg}polyline")) == 3
    mcat = run_simulation_report(project, 60, mcat=True, prior_correlation=0.7, se_target=0.5, max_items=30)
    assert mcat.theta.shape == (60, 5)
    assert json.dumps(mcat.to_dict())


def test_overlap_rate_of_a_fixed_form_is_one():
    arrays = {"a": np.ones(30), "b": np.zeros(30)}
    from competency.irt.cat import simulate

    report = simulate(arrays, np.zeros(20), selector="mfi", se_target=None, min_items=10, max_items=10)
    assert report.overlap_rate == pytest.approx(1.0)  # identical θ̂ paths? every pair shares all items


def test_a_coarser_grid_gives_the_same_estimates():
    from competency.irt.cat import Bank, Engine, EngineConfig

    bank = Bank.from_arrays({"a": np.full(20, 1.2), "b": np.linspace(-2, 2, 20)})
    fine = Engine(bank, EngineConfig())
    coarse = Engine(bank, EngineConfig(grid_points=61, grid_bound=5.0))
    assert coarse.bank.grid.points == 61 and bank.grid.points == 121  # the caller's bank is untouched
    s1, s2 = fine.start(seed=0), coarse.start(seed=0)
    for k, x in enumerate([1, 0, 1, 1, 0, 1, 0, 0]):
        s1 = fine.record(s1, f"i{k * 2}", x)
        s2 = coarse.record(s2, f"i{k * 2}", x)
    assert s1.theta[0] == pytest.approx(s2.theta[0], abs=1e-3)
    assert s1.se[0] == pytest.approx(s2.se[0], abs=1e-3)
