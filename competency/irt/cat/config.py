"""EngineConfig: every setting of an adaptive test, JSON-serialisable and validated."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError

SELECTORS = ("mfi", "pwi", "kl", "astrat", "dopt", "random")
ESTIMATORS = ("eap", "map", "ml")
EXPOSURE = ("none", "sympson_hetter", "max_rate")
CLASSIFICATION = ("ci", "sprt")


@dataclass
class EngineConfig:
    """Settings of one adaptive test (all JSON-friendly types).

    selector: "mfi" maximum Fisher information at θ̂ (for a multidimensional test: the D-optimal
        criterion, alias "dopt"); "pwi" posterior-weighted information; "kl" posterior-weighted
        Kullback–Leibler; "astrat" a-stratified with b-matching (``strata`` strata); "random".
    randomesque: pick uniformly among the best k items (1 = off); works with every selector.
    estimator: "eap" (default; prior N(prior_mean, prior_sd²), grid of ``grid_points`` on
        ±``grid_bound``), "map", or "ml" (EAP until the responses vary, then ML).
    se_target: posterior SE at which to stop (one number, or one per dimension); None = off.
    min_items / max_items: bounds on the number of *scored* items (pilot items do not count).
    time_limit: seconds; the caller passes the elapsed time.
    exposure: "none" | "sympson_hetter" (``sh_k``: item id -> administration probability, see
        derive_sympson_hetter) | "max_rate" (items whose current exposure rate reached ``r_max``
        are skipped; the caller passes current rates).
    content_targets: Kingsbury–Zara target proportions by content code (or by dimension code when
        ``content_by`` = "dimension"); content_min / content_max: hard counts per code.
    pilot_positions: 1-based positions in the delivered sequence that get an unscored pilot item.
    cut_scores: θ cuts between levels (one list, or one list per dimension); classification:
        None, "ci" (stop when the ``ci_level`` interval holds no cut) or "sprt" (Wald's SPRT at
        every cut, indifference half-width ``sprt_delta``, error rates ``sprt_alpha``/``sprt_beta``).
    mcat: between-item multidimensional CAT over the bank's dimensions with a correlated normal
        prior (``prior_correlation``: one number or a full matrix); estimator "eap" is adaptive
        Gauss–Hermite (``gh_points`` per dimension) around the Laplace mode, "map" is the
        Laplace approximation itself.
    """

    selector: str = "mfi"
    randomesque: int = 1
    strata: int = 4
    estimator: str = "eap"
    prior_mean: float | list[float] = 0.0
    prior_sd: float | list[float] = 1.0
    prior_correlation: float | list[list[float]] = 0.0
    se_target: float | list[float] | None = 0.3
    min_items: int = 5
    max_items: int = 40
    time_limit: float | None = None
    exposure: str = "none"
    r_max: float = 0.25
    sh_k: dict[str, float] = field(default_factory=dict)
    content_targets: dict[str, float] = field(default_factory=dict)
    content_min: dict[str, int] = field(default_factory=dict)
    content_max: dict[str, int] = field(default_factory=dict)
    content_by: str = "content"
    pilot_positions: list[int] = field(default_factory=list)
    cut_scores: list[float] | list[list[float]] | None = None
    classification: str | None = None
    ci_level: float = 0.95
    sprt_delta: float = 0.3
    sprt_alpha: float = 0.05
    sprt_beta: float = 0.05
    mcat: bool = False
    gh_points: int = 3
    grid_points: int = 121
    grid_bound: float = 6.0

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        if self.selector not in SELECTORS:
            raise ConfigError(f"selector: must be one of {', '.join(SELECTORS)}, got {self.selector!r}")
        if self.estimator not in ESTIMATORS:
            raise ConfigError(f"estimator: must be one of {', '.join(ESTIMATORS)}, got {self.estimator!r}")
        if self.exposure not in EXPOSURE:
            raise ConfigError(f"exposure: must be one of {', '.join(EXPOSURE)}, got {self.exposure!r}")
        if self.classification is not None and self.classification not in CLASSIFICATION:
            raise ConfigError(f"classification: must be null, 'ci' or 'sprt', got {self.classification!r}")
        if self.classification is not None and not self.cut_scores:
            raise ConfigError("cut_scores: a classification rule needs cut scores")
        if self.content_by not in ("content", "dimension"):
            raise ConfigError("content_by: must be 'content' or 'dimension'")
        if not (isinstance(self.min_items, int) and isinstance(self.max_items, int)):
            raise ConfigError("min_items/max_items: must be integers")
        if self.min_items < 0 or self.max_items < 1 or self.min_items > self.max_items:
            raise ConfigError("min_items/max_items: need 0 <= min_items <= max_items and max_items >= 1")
        if self.randomesque < 1:
            raise ConfigError("randomesque: must be >= 1")
        if self.strata < 1:
            raise ConfigError("strata: must be >= 1")
        if self.time_limit is not None and not self.time_limit > 0:
            raise ConfigError("time_limit: must be positive seconds or null")
        if not 0 < self.r_max <= 1:
            raise ConfigError("r_max: must be in (0, 1]")
        for k, v in self.sh_k.items():
            if not 0 <= float(v) <= 1:
                raise ConfigError(f"sh_k: probability for {k!r} must be in [0, 1]")
        targets = self._as_list(self.se_target)
        if targets is not None and any(not (t > 0 and math.isfinite(t)) for t in targets):
            raise ConfigError("se_target: must be positive")
        if any(p <= 0 for p in self._as_list(self.prior_sd) or [1.0]):
            raise ConfigError("prior_sd: must be positive")
        if not 0 < self.ci_level < 1:
            raise ConfigError("ci_level: must be in (0, 1)")
        if not (0 < self.sprt_alpha < 0.5 and 0 < self.sprt_beta < 0.5 and self.sprt_delta > 0):
            raise ConfigError("sprt_alpha/sprt_beta: must be in (0, 0.5); sprt_delta > 0")
        if any(int(p) < 1 for p in self.pilot_positions):
            raise ConfigError("pilot_positions: positions are 1-based")
        if not 1 <= self.gh_points <= 10:
            raise ConfigError("gh_points: must be in 1..10")
        if self.grid_points < 21 or self.grid_bound < 3:
            raise ConfigError("grid_points/grid_bound: need >= 21 points and a bound >= 3")
        if sum(self.content_targets.values()) > 1 + 1e-9 or any(v < 0 for v in self.content_targets.values()):
            raise ConfigError("content_targets: proportions must be >= 0 and sum to at most 1")

    @staticmethod
    def _as_list(x: Any) -> list[float] | None:
        if x is None:
            return None
        return [float(v) for v in x] if isinstance(x, (list, tuple)) else [float(x)]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EngineConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"{unknown[0]}: unknown EngineConfig field")
        try:
            return cls(**data)
        except TypeError as exc:
            raise ConfigError(f"EngineConfig: {exc}") from None

    def replace(self, **changes: Any) -> EngineConfig:
        return EngineConfig.from_dict({**self.to_dict(), **changes})
