"""Simulation: many examinees through the same engine, in lock step, and the report.

Examinees are processed in chunks (default up to 1000 at a time; 10 when a maximum exposure rate is
enforced, so that a chunk can overshoot r_max by at most 10/N; the rate of an item is its share of the
simulees started so far, as in live delivery). Within a chunk all sessions advance
together: one vectorised select / respond / estimate step per item position. ``seconds`` is the
wall time inside the engine (selection, estimation, stopping), not drawing simulated responses.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .. import classification
from . import rng
from .bank import Bank, load_bank
from .config import EngineConfig
from .engine import Engine
from .plot import report_svg
from .stopping import levels

Progress = Callable[[int, int], None]


@dataclass
class SimRun:
    """Raw arrays of one simulation (per examinee unless noted)."""

    engine: Engine
    true_theta: NDArray[np.float64]  # (N, D)
    theta: NDArray[np.float64]  # (N, D)
    se: NDArray[np.float64]  # (N, D)
    lengths: NDArray[np.intp]  # scored items
    totals: NDArray[np.intp]  # scored + pilot
    items: list[NDArray[np.intp]]
    stop: list[str]
    area_count: NDArray[np.intp]
    selected_count: NDArray[np.int64]  # per item, before the Sympson–Hetter lottery
    seconds: float
    # Posterior covariance (N, D, D): a multidimensional CAT's errors are correlated across dimensions.
    cov: NDArray[np.float64] | None = None


def run_sessions(
    bank: Bank | Mapping[str, Any] | str,
    config: EngineConfig | Mapping[str, Any] | None,
    true_thetas: NDArray[np.float64],
    seed: int = 0,
    chunk: int | None = None,
    progress: Progress | None = None,
) -> SimRun:
    engine = Engine(bank, config)
    bank, cfg = engine.bank, engine.cfg
    truth = np.asarray(true_thetas, dtype=float)
    truth = truth.reshape(-1, 1) if truth.ndim == 1 else truth
    if truth.shape[1] != engine.dims:
        raise ValueError(f"true_thetas: need {engine.dims} column(s), got {truth.shape[1]}")
    n_ex = truth.shape[0]
    seeds = rng.derive_seeds(seed, n_ex)
    # Big chunks amortise the per-step overhead; beyond ~1000 rows the arrays leave the cache, and the
    # (rows x items) masks are capped at about 4 MB each.
    limit = max(200, min(1000, 4_000_000 // max(len(bank), 1)))
    chunk = chunk or (10 if cfg.exposure == "max_rate" else min(n_ex, limit))
    counts = np.zeros(len(bank), np.int64)
    theta = np.zeros((n_ex, engine.dims))
    se = np.zeros_like(theta)
    cov = np.zeros((n_ex, engine.dims, engine.dims))
    lengths = np.zeros(n_ex, np.intp)
    totals = np.zeros(n_ex, np.intp)
    items: list[NDArray[np.intp]] = []
    stop: list[str] = []
    area = None
    selected = np.zeros(len(bank), np.int64)
    spent = 0.0
    for lo in range(0, n_ex, chunk):
        hi = min(lo + chunk, n_ex)
        s = engine.new_sessions(seeds[lo:hi])
        true = truth[lo:hi]
        active = np.arange(hi - lo)
        while active.size:
            t0 = time.perf_counter()
            reasons = engine.stopper.reasons(s, active)
            done = reasons != None  # noqa: E711
            s.stop[active[done]] = reasons[done]
            active = active[~done]
            if active.size == 0:
                spent += time.perf_counter() - t0
                break
            # Running rates, as live delivery computes them (share of the attempts started so far):
            # dividing by all N would leave the early simulees' tests uncontrolled.
            rates = counts / hi if cfg.exposure == "max_rate" else None
            pick = engine.choose(s, active, rates)
            none = pick < 0
            for r in active[none]:
                s.stop[r] = engine._exhausted_reason(s, int(r))
            active, pick = active[~none], pick[~none]
            spent += time.perf_counter() - t0
            if active.size == 0:
                break
            resp = _responses(bank, pick, true, active, s)
            t0 = time.perf_counter()
            engine.apply(s, active, pick, resp)
            spent += time.perf_counter() - t0
            counts += np.bincount(pick, minlength=counts.size)
        theta[lo:hi], se[lo:hi], cov[lo:hi] = s.theta, s.se, s.cov
        lengths[lo:hi], totals[lo:hi] = s.n_scored, s.n_total
        items.extend(s.seq_items[r, : s.n_total[r]].copy() for r in range(hi - lo))
        stop.extend(str(x) for x in s.stop)
        area = s.area_count.copy() if area is None else np.vstack([area, s.area_count])
        selected += s.selected_count
        if progress:
            progress(hi, n_ex)
    if area is None:
        area = np.zeros((0, 1), np.intp)
    return SimRun(engine, truth, theta, se, lengths, totals, items, stop, area, selected, spent, cov)


def _responses(
    bank: Bank, items: NDArray[np.intp], true: NDArray[np.float64], rows: NDArray[np.intp], s: Any
) -> NDArray[np.intp]:
    """Simulated scores: the category whose cumulative probability first exceeds a uniform draw."""
    dims = s.item_dim[items]
    u = rng.uniforms(s.seeds[rows], rng.STREAM_RESPONSE, s.n_total[rows])
    if bank.dichotomous_only:
        # same rule as below with K = 2: score 1 when u falls beyond P(0) = 1 − P(1)
        p0 = bank.response_probs(items, true[rows, dims])[:, 0]
        return (p0 < u).astype(np.intp)
    p = bank.response_probs(items, true[rows, dims])
    # Uncalibrated pilot items: every category equally likely.
    bad = ~bank._usable[items]
    if bad.any():
        k = bank.n_cats[items[bad]]
        p[bad] = (np.arange(p.shape[1])[None, :] < k[:, None]) / k[:, None]
    x = np.sum(np.cumsum(p, axis=1)[:, :-1] < u[:, None], axis=1)
    return np.minimum(x, bank.n_cats[items] - 1).astype(np.intp)


def derive_sympson_hetter(
    bank: Bank | Mapping[str, Any] | str,
    config: EngineConfig | Mapping[str, Any],
    true_thetas: NDArray[np.float64],
    r_max: float = 0.25,
    iterations: int = 10,
    seed: int = 0,
    progress: Progress | None = None,
) -> dict[str, float]:
    """Sympson–Hetter K parameters (item id -> probability) for a target maximum exposure r_max.

    Iterated simulation: the classic K_i ← min(1, r_max / P(S_i)) (P(S_i): share of simulated
    examinees for whom item i came up, before the lottery), tightened by K_i ← K_i·r_max/P(A_i)
    while the administration share P(A_i) still exceeds r_max, which converges in fewer rounds.
    Store the result in ``EngineConfig(exposure="sympson_hetter", sh_k=...)``.
    """
    bank = load_bank(bank)
    cfg = config if isinstance(config, EngineConfig) else EngineConfig.from_dict(dict(config))
    k = np.ones(len(bank))
    thetas = np.asarray(true_thetas, dtype=float)
    for it in range(iterations):
        sh = {bank.ids[i]: float(k[i]) for i in range(len(bank))}
        run = run_sessions(bank, cfg.replace(exposure="sympson_hetter", sh_k=sh), thetas, seed=seed + it)
        p_select = run.selected_count / len(thetas)
        administered = np.zeros(len(bank))
        for seq in run.items:
            administered[seq] += 1
        p_admin = administered / len(thetas)
        # Classic step K = r/P(S) where selection is too frequent; where the items still run over
        # the target, also shrink K by r/P(A) (converges in fewer rounds); relax K where under.
        classic = np.where(p_select > r_max, r_max / np.maximum(p_select, 1e-12), 1.0)
        k = np.minimum(classic, np.minimum(1.0, k * r_max / np.maximum(p_admin, 1e-12)))
        if progress:
            progress(it + 1, iterations)
    return {bank.ids[i]: round(float(k[i]), 6) for i in range(len(bank)) if k[i] < 1.0}


@dataclass
class SimulationReport:
    """Results of a simulation; per-examinee arrays are 1-D for one dimension, (N, D) otherwise."""

    theta: NDArray[np.float64]
    se: NDArray[np.float64]
    true_theta: NDArray[np.float64]
    lengths: NDArray[np.intp]
    exposure: NDArray[np.float64]
    seconds: float
    stop_reasons: dict[str, int]
    item_ids: tuple[str, ...]
    dimension_codes: tuple[str, ...]
    config: dict[str, Any]
    overlap_rate: float
    content_proportions: dict[str, float] = field(default_factory=dict)
    classification_accuracy: list[float] | None = None
    # Per dimension, at the engine's cut scores: simulated accuracy (true vs estimated level) and
    # Rudner's expected accuracy and consistency from θ̂ and SE (competency.irt.classification).
    classification: list[dict[str, Any]] | None = None
    conditional: list[dict[str, float]] = field(default_factory=list)
    pilot_per_examinee: float = 0.0
    cov: NDArray[np.float64] | None = None  # (N, D, D) posterior covariances, multidimensional runs only

    @property
    def n_examinees(self) -> int:
        return int(self.lengths.size)

    def _2d(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        return x.reshape(x.shape[0], -1)

    @property
    def bias(self) -> NDArray[np.float64] | float:
        v = np.mean(self._2d(self.theta) - self._2d(self.true_theta), axis=0)
        return float(v[0]) if v.size == 1 else v

    @property
    def rmse(self) -> NDArray[np.float64] | float:
        v = np.sqrt(np.mean((self._2d(self.theta) - self._2d(self.true_theta)) ** 2, axis=0))
        return float(v[0]) if v.size == 1 else v

    @property
    def mean_se(self) -> NDArray[np.float64] | float:
        v = np.mean(self._2d(self.se), axis=0)
        return float(v[0]) if v.size == 1 else v

    @property
    def seconds_per_item(self) -> float:
        return self.seconds / max(int(self.lengths.sum()), 1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "examinees": self.n_examinees,
            "bias": np.atleast_1d(self.bias).tolist(),
            "rmse": np.atleast_1d(self.rmse).tolist(),
            "mean_se": np.atleast_1d(self.mean_se).tolist(),
            "length": {
                "mean": float(self.lengths.mean()),
                "min": int(self.lengths.min()),
                "max": int(self.lengths.max()),
            },
            "exposure": {
                "max": float(self.exposure.max(initial=0)),
                "unused_share": float(np.mean(self.exposure == 0)) if self.exposure.size else 0.0,
            },
            "overlap_rate": self.overlap_rate,
            "stop_reasons": self.stop_reasons,
            "content_proportions": self.content_proportions,
            "classification_accuracy": self.classification_accuracy,
            "classification": self.classification,
            "conditional": self.conditional,
            "seconds": self.seconds,
            "microseconds_per_item": 1e6 * self.seconds_per_item,
        }

    def to_text(self) -> str:
        d = self.to_dict()
        fmt = lambda v: ", ".join(f"{x:+.3f}" for x in v)  # noqa: E731
        dims = ", ".join(self.dimension_codes)
        lines = [
            f"CAT simulation: {d['examinees']} examinees, {len(self.item_ids)} items, dimensions: {dims}",
            f"  selector={self.config['selector']} estimator={self.config['estimator']} "
            f"se_target={self.config['se_target']} items {self.config['min_items']}-{self.config['max_items']}",
            f"  bias      {fmt(d['bias'])}",
            f"  RMSE      {fmt(d['rmse'])}",
            f"  mean SE   {fmt(d['mean_se'])}",
            f"  length    mean {d['length']['mean']:.2f}  min {d['length']['min']}  max {d['length']['max']}",
            f"  exposure  max {d['exposure']['max']:.3f}  never used {100 * d['exposure']['unused_share']:.1f}%"
            f"  overlap rate {self.overlap_rate:.3f}",
            "  stop reasons: " + ", ".join(f"{k} {v}" for k, v in sorted(self.stop_reasons.items())),
        ]
        if self.pilot_per_examinee:
            lines.append(f"  pilot items per examinee: {self.pilot_per_examinee:.2f}")
        if self.content_proportions:
            lines.append(
                "  achieved content proportions: "
                + ", ".join(f"{k} {v:.3f}" for k, v in self.content_proportions.items())
            )
        if self.classification:
            lines.append("  classification at the cut scores (simulated = true level recovered; expected and")
            lines.append("  consistency by Rudner's method from θ̂ and SE):")
            lines.append("    dimension     simulated  95% interval     expected  consistency")
            for code, row in zip(self.dimension_codes, self.classification, strict=False):
                lo, hi = row["accuracy_ci95"]
                lines.append(
                    f"    {code:<12}  {row['simulated']:.3f}      [{lo:.3f}, {hi:.3f}]   {row['expected']:.3f}"
                    f"     {row['consistency']:.3f}"
                )
        lines.append("  conditional on true θ (first dimension):")
        lines.append("    bin            n     bias    RMSE   mean SE  mean length")
        for row in self.conditional:
            lines.append(
                f"    {row['label']:<12} {row['n']:>5}  {row['bias']:+.3f}  {row['rmse']:.3f}   {row['se']:.3f}"
                f"     {row['length']:.2f}"
            )
        lines.append(
            f"  engine time {self.seconds:.3f} s, {d['microseconds_per_item']:.1f} µs per administered item"
        )
        return "\n".join(lines)

    def write_svg(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(report_svg(self))


BIN_EDGES = (-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0)


def build_report(run: SimRun) -> SimulationReport:
    engine, bank, cfg = run.engine, run.engine.bank, run.engine.cfg
    n_ex = run.lengths.size
    # an examinee never sees an item twice, so counting occurrences counts examinees
    counts = np.bincount(np.concatenate([*run.items, np.zeros(0, np.intp)]), minlength=len(bank))
    exposure = counts / max(n_ex, 1)
    # Overlap: expected share of a test's items that another random examinee also saw,
    # Σ_i C(c_i, 2) / C(N, 2) / mean length (pairwise form; fits variable-length tests).
    scored_counts = counts * bank.operational
    mean_len = max(float(run.lengths.mean()) if n_ex else 0.0, 1e-12)
    pairs = n_ex * (n_ex - 1) / 2
    overlap = float(np.sum(scored_counts * (scored_counts - 1) / 2) / pairs / mean_len) if pairs else 0.0
    squeeze = (lambda x: x[:, 0]) if engine.dims == 1 else (lambda x: x)  # noqa: E731
    content: dict[str, float] = {}
    if len(run.area_count) and (
        cfg.content_targets or cfg.content_min or cfg.content_max or bank.content_codes
    ):
        area_codes = bank.dimension_codes if cfg.content_by == "dimension" else bank.content_codes
        share = run.area_count / np.maximum(run.lengths, 1)[:, None]
        content = {code: float(share[:, k].mean()) for k, code in enumerate(area_codes) if k < share.shape[1]}
    accuracy = classified = None
    if engine.cuts is not None:
        accuracy = np.mean(
            levels(run.theta, engine.cuts) == levels(run.true_theta, engine.cuts), axis=0
        ).tolist()
        classified = []
        for d, cuts in enumerate(engine.cuts):
            expected = classification.rudner(run.theta[:, d], run.se[:, d], cuts)
            lo, hi = classification.wilson_interval(accuracy[d], n_ex)
            classified.append(
                {
                    "simulated": round(accuracy[d], 4),
                    "accuracy_ci95": [round(lo, 4), round(hi, 4)],
                    "expected": round(expected.accuracy, 4),
                    "consistency": round(expected.consistency, 4),
                    "n": int(n_ex),
                }
            )
    conditional = []
    t0 = run.true_theta[:, 0]
    edges = (-np.inf, *BIN_EDGES, np.inf)
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        m = (t0 >= lo) & (t0 < hi)
        if not m.any():
            continue
        label = f"< {hi:g}" if lo == -np.inf else (f">= {lo:g}" if hi == np.inf else f"[{lo:g}, {hi:g})")
        err = run.theta[m, 0] - t0[m]
        conditional.append(
            {
                "label": label,
                "lo": float(lo),
                "hi": float(hi),
                "n": int(m.sum()),
                "bias": float(err.mean()),
                "rmse": float(np.sqrt(np.mean(err**2))),
                "se": float(run.se[m, 0].mean()),
                "length": float(run.lengths[m].mean()),
            }
        )
    return SimulationReport(
        theta=squeeze(run.theta),
        se=squeeze(run.se),
        cov=run.cov if engine.dims > 1 else None,
        true_theta=squeeze(run.true_theta),
        lengths=run.lengths,
        exposure=exposure,
        seconds=run.seconds,
        stop_reasons=dict(Counter(run.stop)),
        item_ids=bank.ids,
        dimension_codes=bank.dimension_codes if engine.dims > 1 else ("all",),
        config=cfg.to_dict(),
        overlap_rate=overlap,
        content_proportions=content,
        classification_accuracy=accuracy,
        classification=classified,
        conditional=conditional,
        pilot_per_examinee=float(np.mean(run.totals - run.lengths)) if n_ex else 0.0,
    )


def simulate(
    bank: Bank | Mapping[str, Any] | str,
    true_thetas: Any,
    selector: str = "mfi",
    estimator: str = "eap",
    se_target: float | list[float] | None = 0.3,
    min_items: int = 5,
    max_items: int = 40,
    seed: int = 0,
    config: EngineConfig | Mapping[str, Any] | None = None,
    progress: Progress | None = None,
    chunk: int | None = None,
    **settings: Any,
) -> SimulationReport:
    """Run the adaptive test for every true θ and report.

    bank: dict of arrays in IRT form ("a", "b", optional "c"; also "model", "thresholds" NaN-padded,
    "content", "dimension", "pilot", "enemies", "ids"), a Bank, or a bank file path.
    true_thetas: (N,) or, with mcat=True, (N, D). Any EngineConfig field may be passed as a keyword
    (e.g. content_targets=..., exposure="sympson_hetter", mcat=True, prior_correlation=0.7), or
    a whole ``config`` (keywords then override it).
    """
    base = config.to_dict() if isinstance(config, EngineConfig) else dict(config or {})
    base.update(
        selector=selector,
        estimator=estimator,
        se_target=se_target,
        min_items=min_items,
        max_items=max_items,
        **settings,
    )
    run = run_sessions(
        bank,
        EngineConfig.from_dict(base),
        np.asarray(true_thetas, dtype=float),
        seed=seed,
        chunk=chunk,
        progress=progress,
    )
    return build_report(run)


def run_simulation_report(
    bank: Bank | Mapping[str, Any] | str,
    n_examinees: int = 1000,
    config: EngineConfig | Mapping[str, Any] | None = None,
    seed: int = 0,
    true_thetas: Any = None,
    progress: Progress | None = None,
    plot_path: str | None = None,
    **settings: Any,
) -> SimulationReport:
    """CLI entry: simulate ``n_examinees`` drawn from the configured prior on a bank file or dict.

    Returns the report (``.to_text()`` for printing); writes an SVG plot when ``plot_path`` is given.
    ``progress(done, total)`` is called after each chunk of examinees.
    """
    bank = load_bank(bank)
    base = config.to_dict() if isinstance(config, EngineConfig) else dict(config or {})
    base.update(settings)
    cfg = EngineConfig.from_dict(base)
    if true_thetas is None:
        engine = Engine(bank, cfg)
        draw = np.random.default_rng(seed).multivariate_normal(
            engine.prior.mean, engine.prior.cov, n_examinees
        )
        true_thetas = draw[:, 0] if engine.dims == 1 else draw
    run = run_sessions(
        bank,
        cfg,
        np.asarray(true_thetas, dtype=float),
        seed=seed,
        chunk=min(200, max(n_examinees, 1)) if cfg.exposure != "max_rate" else None,
        progress=progress,
    )
    report = build_report(run)
    if plot_path:
        report.write_svg(plot_path)
    return report
