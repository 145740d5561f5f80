"""CatState: the whole per-attempt state of an adaptive test, as a small JSON-friendly object."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import StateMismatchError

STATE_VERSION = 1


@dataclass
class CatState:
    """What a web worker stores with an attempt; any worker continues from it.

    administered / responses: item ids (strings) and integer scores, in delivery order (pilot items
    included; they are not scored). skipped: items the Sympson–Hetter lottery passed over.
    theta / se: current estimate and posterior SE, one per dimension. level: level index per
    dimension when cut scores are configured. pending: the item last proposed by next_item.
    stop_reason: None while running; otherwise one of "se_target", "max_items", "time_limit",
    "classification_ci", "classification_sprt", "pool_exhausted", "empty_pool".
    """

    bank: str
    seed: int
    theta: list[float]
    se: list[float]
    administered: list[str] = field(default_factory=list)
    responses: list[int] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    level: list[int] | None = None
    pending: str | None = None
    stop_reason: str | None = None
    version: int = STATE_VERSION

    @property
    def n_items(self) -> int:
        return len(self.administered)

    def to_dict(self) -> dict[str, Any]:
        return {
            "bank": self.bank,
            "seed": self.seed,
            "theta": list(self.theta),
            "se": list(self.se),
            "administered": list(self.administered),
            "responses": list(self.responses),
            "skipped": list(self.skipped),
            "level": None if self.level is None else list(self.level),
            "pending": self.pending,
            "stop_reason": self.stop_reason,
            "version": self.version,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CatState:
        try:
            # list(map(...)): the same conversions as a comprehension, at about half the cost
            state = cls(
                bank=str(data["bank"]),
                seed=int(data["seed"]),
                theta=list(map(float, data["theta"])),
                se=list(map(float, data["se"])),
                administered=list(map(str, data.get("administered", []))),
                responses=list(map(int, data.get("responses", []))),
                skipped=list(map(str, data.get("skipped", []))),
                level=None if data.get("level") is None else list(map(int, data["level"])),
                pending=data.get("pending"),
                stop_reason=data.get("stop_reason"),
                version=int(data.get("version", STATE_VERSION)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise StateMismatchError(f"state: malformed CatState ({exc})") from None
        if state.version != STATE_VERSION:
            raise StateMismatchError(f"version: state version {state.version} is not {STATE_VERSION}")
        if len(state.administered) != len(state.responses):
            raise StateMismatchError("responses: one response per administered item is needed")
        return state

    def copy(self) -> CatState:
        """An independent copy (new lists; the fields themselves are immutable values)."""
        return CatState(
            bank=self.bank,
            seed=self.seed,
            theta=list(self.theta),
            se=list(self.se),
            administered=list(self.administered),
            responses=list(self.responses),
            skipped=list(self.skipped),
            level=None if self.level is None else list(self.level),
            pending=self.pending,
            stop_reason=self.stop_reason,
            version=self.version,
        )
