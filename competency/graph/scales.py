"""Level scales as objects: ordered levels, names, descriptors, crosswalks and θ cut scores."""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class Level:
    """One level of a scale; ``index`` is its 0-based rank (higher = more proficient)."""

    code: str
    index: int
    name_zh: str
    name_en: str
    descriptor_zh: str
    descriptor_en: str
    provisional_b: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "index": self.index,
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "descriptor_zh": self.descriptor_zh,
            "descriptor_en": self.descriptor_en,
            "provisional_b": self.provisional_b,
        }


@dataclass(frozen=True)
class LevelScale:
    """An ordered set of levels with default θ cut scores and crosswalks to other scales."""

    name: str
    name_zh: str
    name_en: str
    levels: tuple[Level, ...]
    cuts: tuple[float, ...]
    crosswalks: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)
    source: str = "platform"
    version: str = ""

    # -- ordering ---------------------------------------------------------------------------
    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(level.code for level in self.levels)

    def __len__(self) -> int:
        return len(self.levels)

    def __iter__(self) -> Iterator[Level]:
        return iter(self.levels)

    def __contains__(self, code: object) -> bool:
        return any(level.code == code for level in self.levels)

    def __getitem__(self, key: str | int) -> Level:
        if isinstance(key, int):
            return self.levels[key]
        for level in self.levels:
            if level.code == key:
                return level
        raise KeyError(f"scale {self.name!r} has no level {key!r}")

    def index(self, code: str) -> int:
        """0-based rank of a level code."""
        return self[code].index

    def compare(self, a: str, b: str) -> int:
        """-1, 0 or 1 as level ``a`` is below, equal to or above level ``b``."""
        ia, ib = self.index(a), self.index(b)
        return (ia > ib) - (ia < ib)

    def next_level(self, code: str) -> Level | None:
        """The level above ``code``, or None at the top."""
        i = self.index(code) + 1
        return self.levels[i] if i < len(self.levels) else None

    def previous_level(self, code: str) -> Level | None:
        """The level below ``code``, or None at the bottom."""
        i = self.index(code) - 1
        return self.levels[i] if i >= 0 else None

    @property
    def lowest(self) -> Level:
        return self.levels[0]

    @property
    def highest(self) -> Level:
        return self.levels[-1]

    # -- θ ----------------------------------------------------------------------------------
    def level_for_theta(self, theta: float, cuts: Sequence[float] | None = None) -> Level:
        """The level whose θ band contains ``theta``; a θ equal to a cut belongs to the upper level."""
        if theta is None or math.isnan(theta):
            raise ValueError("theta must be a number")
        bounds = tuple(self.cuts if cuts is None else cuts)
        if len(bounds) != len(self.levels) - 1:
            raise ValueError(
                f"scale {self.name!r} needs {len(self.levels) - 1} cut scores, got {len(bounds)}"
            )
        if any(b >= a for a, b in zip(bounds[1:], bounds, strict=False)):
            raise ValueError("cut scores must be strictly increasing")
        return self.levels[bisect_right(bounds, theta)]

    # -- crosswalks -------------------------------------------------------------------------
    def crosswalk(self, code: str, target: str) -> tuple[str, ...]:
        """Codes of ``target`` that correspond to level ``code`` (e.g. teacher L3 -> band 中级)."""
        self[code]
        try:
            return tuple(self.crosswalks[target][code])
        except KeyError as exc:
            raise KeyError(f"scale {self.name!r} has no crosswalk to {target!r} for {code!r}") from exc

    def band(self, code: str) -> str | None:
        """The 初级/中级/高级 band of a level, if the scale has one."""
        found = self.crosswalk(code, "band") if "band" in self.crosswalks else ()
        return found[0] if found else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "source": self.source,
            "version": self.version,
            "cuts": list(self.cuts),
            "levels": [level.to_dict() for level in self.levels],
            "crosswalks": {t: {k: list(v) for k, v in m.items()} for t, m in self.crosswalks.items()},
        }


def scale_from_dict(doc: Mapping[str, Any], version: str = "") -> LevelScale:
    """Build a scale from its (already validated) JSON object."""
    levels = tuple(
        Level(
            code=lv["code"],
            index=i,
            name_zh=lv["name_zh"],
            name_en=lv["name_en"],
            descriptor_zh=lv.get("descriptor_zh", ""),
            descriptor_en=lv.get("descriptor_en", ""),
            provisional_b=lv.get("provisional_b"),
        )
        for i, lv in enumerate(doc["levels"])
    )
    crosswalks = MappingProxyType(
        {
            target: MappingProxyType({code: tuple(v) for code, v in spec.get("map", {}).items()})
            for target, spec in doc.get("crosswalks", {}).items()
        }
    )
    return LevelScale(
        name=doc["name"],
        name_zh=doc["name_zh"],
        name_en=doc["name_en"],
        levels=levels,
        cuts=tuple(float(c) for c in doc["cuts"]),
        crosswalks=crosswalks,
        source=doc.get("source", "platform"),
        version=version,
    )
