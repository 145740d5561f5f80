"""Step API: serialisable state, validation that changes nothing, same decisions as simulation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from competency.irt.cat import (
    Bank,
    CatError,
    CatState,
    ConfigError,
    Engine,
    EngineConfig,
    InvalidResponseError,
    ItemAlreadyAnsweredError,
    StateMismatchError,
    UnknownItemError,
    rng,
    simulate,
)
from competency.irt.cat.simulation import run_sessions

from .banks import make_2pl_bank


def roundtrip(state: CatState) -> CatState:
    return CatState.from_dict(json.loads(json.dumps(state.to_dict())))


def test_config_roundtrip_and_validation():
    cfg = EngineConfig(selector="kl", se_target=[0.3], cut_scores=[-1, 0, 1], classification="sprt")
    assert EngineConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    with pytest.raises(ConfigError, match="selector"):
        EngineConfig(selector="best")
    with pytest.raises(ConfigError, match="bogus"):
        EngineConfig.from_dict({"bogus": 1})
    with pytest.raises(ConfigError, match="min_items"):
        EngineConfig(min_items=10, max_items=5)


def test_full_test_through_the_step_api(mixed_bank):
    bank = Bank.from_arrays(mixed_bank)
    engine = Engine(bank, EngineConfig(se_target=0.4, max_items=25))
    rng = np.random.default_rng(0)
    state = engine.start(seed=42)
    while (item := engine.next_item(state)) is not None:
        assert engine.next_item(state) == item  # pending item is stable
        state = roundtrip(state)
        x = int(rng.integers(0, bank.n_cats[bank.index[item]]))
        state = roundtrip(engine.record(state, item, x))
    assert state.stop_reason in {"se_target", "max_items"}
    assert engine.should_stop(state) == (True, state.stop_reason)
    assert len(json.dumps(state.to_dict())) < 2000
    summary = engine.summary(state)
    assert summary["items"] == len(state.administered)


def test_record_returns_new_state_and_bad_input_changes_nothing(mixed_bank):
    bank = Bank.from_arrays(mixed_bank)
    engine = Engine(bank, EngineConfig())
    state = engine.start(seed=1)
    item = engine.next_item(state)
    before = state.to_dict()
    new = engine.record(state, item, 1)
    assert state.to_dict() == before and new.administered == [item]
    snapshot = new.to_dict()
    with pytest.raises(ItemAlreadyAnsweredError, match="item_id"):
        engine.record(new, item, 0)
    with pytest.raises(UnknownItemError, match="nope"):
        engine.record(new, "nope", 0)
    dich = next(i for i in bank.ids if not bank.poly[bank.index[i]] and i != item)
    for bad in (2, -1, 0.5, "1", None, float("nan")):
        with pytest.raises(InvalidResponseError):
            engine.record(new, dich, bad)
    other = Engine(Bank.from_arrays(make_2pl_bank(50)), EngineConfig())
    with pytest.raises(StateMismatchError, match="bank"):
        other.record(new, "i1", 1)
    with pytest.raises(StateMismatchError):
        other.next_item(new)
    forged = CatState.from_dict({**snapshot, "administered": ["ghost"], "responses": [1]})
    with pytest.raises(StateMismatchError, match="ghost"):
        engine.next_item(forged)
    with pytest.raises(StateMismatchError):
        CatState.from_dict({**snapshot, "responses": []})
    assert new.to_dict() == snapshot


def test_empty_and_exhausted_pools():
    empty = Engine(Bank.from_items([]), EngineConfig())
    state = empty.start(seed=0)
    assert empty.next_item(state) is None and state.stop_reason == "empty_pool"
    small = Engine(Bank.from_arrays(make_2pl_bank(3)), EngineConfig(se_target=0.01, min_items=1))
    state = small.start(seed=0)
    while (item := small.next_item(state)) is not None:
        state = small.record(state, item, 1)
    assert state.stop_reason == "pool_exhausted" and len(state.administered) == 3


def test_time_limit_and_max_items():
    engine = Engine(
        Bank.from_arrays(make_2pl_bank(100)),
        EngineConfig(time_limit=60, se_target=None, min_items=1, max_items=4),
    )
    state = engine.start(seed=0)
    assert engine.should_stop(state, elapsed_seconds=61) == (True, "time_limit")
    assert engine.should_stop(state, elapsed_seconds=10) == (False, None)
    while (item := engine.next_item(state, elapsed_seconds=1)) is not None:
        state = engine.record(state, item, 0)
    assert state.stop_reason == "max_items" and len(state.administered) == 4
    unused = next(i for i in engine.bank.ids if i not in state.administered)
    with pytest.raises(CatError, match="stopped"):
        engine.record(state, unused, 1)


def test_step_api_makes_the_simulators_decisions(mixed_bank):
    cfg = EngineConfig(se_target=0.35, max_items=20, randomesque=3, estimator="map")
    truth = np.array([-1.0, 0.3, 1.7])
    run = run_sessions(mixed_bank, cfg, truth, seed=9)
    engine = run.engine
    for j in range(3):
        seq = run.items[j]
        state = engine.start(seed=int(rng.derive_seeds(9, 3)[j]))
        for pos, item in enumerate(seq):
            assert engine.next_item(state) == engine.bank.ids[item]
            x = _sim_response(run, j, pos)
            state = engine.record(state, engine.bank.ids[item], x)
        assert engine.next_item(state) is None
        assert state.stop_reason == run.stop[j]
        assert state.theta[0] == pytest.approx(run.theta[j, 0], abs=1e-9)


def _sim_response(run, j, pos):
    bank = run.engine.bank
    item = run.items[j][pos]
    seed = rng.derive_seeds(9, 3)[j]
    p = bank.response_probs(np.array([item]), run.true_theta[j : j + 1, 0])[0]
    u = rng.uniforms(np.array([seed]), rng.STREAM_RESPONSE, np.array([pos]))[0]
    return int(min(np.sum(np.cumsum(p)[:-1] < u), bank.n_cats[item] - 1))


def test_contract_simulate_fields(bank_2pl):
    truth = np.random.default_rng(2).normal(0, 1, 60)
    report = simulate(
        bank_2pl, truth, selector="mfi", estimator="eap", se_target=0.3, min_items=5, max_items=40, seed=0
    )
    assert report.theta.shape == report.se.shape == report.lengths.shape == (60,)
    assert report.exposure.shape == (300,)
    assert report.seconds > 0
    assert np.all((report.lengths >= 5) & (report.lengths <= 40))
    assert np.all((report.se <= 0.3 + 1e-9) | (report.lengths == 40))
    assert report.exposure.sum() == pytest.approx(report.lengths.mean())
    again = simulate(bank_2pl, truth, seed=0)
    np.testing.assert_array_equal(report.theta, again.theta)  # reproducible
