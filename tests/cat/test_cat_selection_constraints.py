"""Selection rules, exposure control, content balancing, enemies and pilot items."""

from __future__ import annotations

import numpy as np
import pytest

from competency.irt.cat import Bank, Engine, EngineConfig, derive_sympson_hetter, simulate
from competency.irt.cat.selection import RankedFirst
from competency.irt.cat.selectors import info_at_theta

from .banks import make_2pl_bank

TRUTH = np.random.default_rng(7).normal(0, 1, 250)


def test_ranked_mfi_picks_the_most_informative_eligible_item():
    bank = Bank.from_arrays(make_2pl_bank(400, seed=3))
    engine = Engine(bank, EngineConfig())
    assert isinstance(engine.selector, RankedFirst)
    rng = np.random.default_rng(0)
    s = engine.new_sessions(np.arange(200, dtype=np.int64))
    s.theta[:, 0] = rng.uniform(-3, 3, 200)
    for r in range(200):
        s.admin[r, rng.choice(400, 30, replace=False)] = True
    rows = np.arange(200)
    fast = engine.selector.decide(s, rows)
    info = np.where(~s.admin, info_at_theta(s, rows), -np.inf)
    best = info.max(axis=1)
    got = info[rows, fast]
    # θ̂ is rounded to 0.01 for the ranking: the pick is optimal up to that rounding.
    assert np.all(got >= best * (1 - 2e-3))
    assert np.mean(fast == info.argmax(axis=1)) > 0.95


@pytest.mark.parametrize("selector", ["pwi", "kl", "astrat", "random"])
def test_other_selectors_measure(selector, mixed_bank):
    report = simulate(mixed_bank, TRUTH, selector=selector, se_target=0.4, max_items=40)
    assert abs(report.bias) < 0.1
    assert report.rmse < 0.5


def test_information_selectors_beat_random(mixed_bank):
    lengths = {
        s: simulate(mixed_bank, TRUTH, selector=s, se_target=0.4).lengths.mean()
        for s in ("mfi", "pwi", "kl", "random")
    }
    assert max(lengths["mfi"], lengths["pwi"], lengths["kl"]) < 0.7 * lengths["random"]


def test_astrat_uses_low_a_items_first(bank_2pl):
    report = simulate(
        bank_2pl, TRUTH[:40], selector="astrat", se_target=None, min_items=20, max_items=20, strata=4
    )
    engine = Engine(bank_2pl, EngineConfig(selector="astrat", max_items=20))
    state = engine.start(seed=3)
    a_seq = []
    for _ in range(20):
        item = engine.next_item(state)
        a_seq.append(engine.bank.a[engine.bank.index[item]])
        state = engine.record(state, item, 1)
    assert np.mean(a_seq[:5]) < np.mean(a_seq[-5:])
    assert report.lengths.max() == 20


def test_randomesque_and_sympson_hetter_limit_exposure(bank_2pl):
    plain = simulate(bank_2pl, TRUTH)
    rnd = simulate(bank_2pl, TRUTH, randomesque=5)
    assert rnd.exposure.max() < plain.exposure.max()
    k = derive_sympson_hetter(bank_2pl, EngineConfig(), TRUTH, r_max=0.25, iterations=6)
    assert k and all(0 < v < 1 for v in k.values())
    sh = simulate(bank_2pl, TRUTH, exposure="sympson_hetter", sh_k=k)
    assert plain.exposure.max() > 0.9
    assert np.sort(sh.exposure)[-5:].mean() < 0.25 + 0.06
    assert sh.rmse < 0.36


def test_max_rate_caps_exposure(bank_2pl):
    report = simulate(bank_2pl, TRUTH, exposure="max_rate", r_max=0.2)
    assert report.exposure.max() <= 0.2 + 10 / TRUTH.size + 1e-9


def test_kingsbury_zara_reaches_target_proportions(mixed_bank):
    targets = {"A": 0.5, "B": 0.3, "C": 0.2}
    report = simulate(mixed_bank, TRUTH, content_targets=targets, se_target=None, min_items=20, max_items=20)
    for code, p in targets.items():
        assert report.content_proportions[code] == pytest.approx(p, abs=0.03)
    assert "achieved content proportions" in report.to_text()


def test_hard_min_and_max_counts(mixed_bank):
    from competency.irt.cat.simulation import run_sessions

    cfg = EngineConfig(content_min={"C": 8}, content_max={"A": 3}, se_target=0.3, min_items=5, max_items=20)
    run = run_sessions(mixed_bank, cfg, TRUTH[:80, None])
    codes = run.engine.bank.content_codes
    counts = dict(zip(codes, run.area_count.T, strict=True))
    assert counts["A"].max() <= 3 and counts["C"].min() >= 8
    engine = Engine(mixed_bank, EngineConfig(content_min={"C": 8}, content_max={"A": 3}, max_items=20))
    state = engine.start(seed=0)
    while (item := engine.next_item(state)) is not None:
        state = engine.record(state, item, 0)
    codes = [engine.bank.content_codes[engine.bank.content[engine.bank.index[i]]] for i in state.administered]
    assert codes.count("A") <= 3 and codes.count("C") >= 8


def test_enemies_are_never_administered_together():
    arrays = make_2pl_bank(40, seed=2)
    b = np.zeros(40)  # identical items compete at θ = 0, so enemies would be picked together
    arrays = {"a": np.ones(40), "b": b, "enemies": [[1, 2, 3]] + [[] for _ in range(39)]}
    report_bank = Bank.from_arrays(arrays)
    engine = Engine(report_bank, EngineConfig(se_target=None, max_items=10, min_items=10))
    state = engine.start(seed=0)
    while (item := engine.next_item(state)) is not None:
        state = engine.record(state, item, 1)
    group = {"i0", "i1", "i2", "i3"}
    assert len(group & set(state.administered)) == 1


def test_pilot_items_at_positions_are_unscored():
    arrays = make_2pl_bank(60, seed=4)
    pilot = np.zeros(60, bool)
    pilot[:6] = True
    arrays["pilot"] = pilot
    bank = Bank.from_arrays(arrays)
    engine = Engine(bank, EngineConfig(pilot_positions=[2, 5], se_target=None, min_items=8, max_items=8))
    state = engine.start(seed=5)
    while (item := engine.next_item(state)) is not None:
        before = state.theta
        state = engine.record(state, item, 1)
        if bank.pilot[bank.index[item]]:
            assert state.theta == before
    flags = [bool(bank.pilot[bank.index[i]]) for i in state.administered]
    assert [k + 1 for k, f in enumerate(flags) if f] == [2, 5]
    assert len(state.administered) == 10  # 8 scored + 2 pilot
    scored_only = Engine(bank, EngineConfig(se_target=None, min_items=8, max_items=8))
    replay = scored_only.start(seed=0)
    for i, x in zip(state.administered, state.responses, strict=True):
        if not bank.pilot[bank.index[i]]:
            replay = scored_only.record(replay, i, x)
    assert replay.theta == pytest.approx(state.theta)  # pilot responses do not move θ̂
    report = simulate(arrays, TRUTH[:30], pilot_positions=[3], se_target=0.5)
    assert report.pilot_per_examinee == pytest.approx(1.0)
    assert report.exposure[:6].sum() == pytest.approx(1.0)
