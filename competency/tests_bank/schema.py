"""Item records of the bank: frozen dataclasses and the "competency.items/1" JSON mapping.

``to_dict``/``from_dict`` are structural only: ``from_dict`` trusts its input (data that was
validated on import, or read back from the database). Untrusted input goes through
:func:`competency.tests_bank.validation.validate_items`, which collects every problem first.

Choices beyond codes.md (documented in templates/FORMAT.md):

* ``status`` is optional in files and defaults to ``"operational"`` so that the demo banks, which
  follow codes.md and carry no status, are usable as they are.
* ``irt`` may be omitted (null) only for ``draft`` items.
* ``media`` entries are ``{"src", "alt"}`` objects; a bare string is read as ``{"src": s, "alt": ""}``.
* ``sequence`` items (put the options in order): ``key`` is the correct order as a list of every
  option key, ``scoring`` is ``all_or_nothing`` (default) or ``partial`` (correct adjacent pairs).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

ITEM_FORMAT = "competency.items/1"
PARAMETERISATION = "logistic-D1-irt"  # P = c + (1 − c) / (1 + exp(−a(θ − b))), D = 1; GRM 0..K−1
DEFAULT_STATUS = "operational"
OPTION_KEYS = ("A", "B", "C", "D", "E", "F")
TRUEFALSE_KEYS = ("true", "false")


class ItemType(StrEnum):
    SINGLE = "single"
    MULTIPLE = "multiple"
    TRUEFALSE = "truefalse"
    ORDERED = "ordered"
    SEQUENCE = "sequence"


class ItemStatus(StrEnum):
    DRAFT = "draft"
    PILOT = "pilot"
    OPERATIONAL = "operational"
    RETIRED = "retired"


class Scoring(StrEnum):
    ALL_OR_NOTHING = "all_or_nothing"
    PARTIAL = "partial"


class IrtModel(StrEnum):
    TWO_PL = "2pl"
    THREE_PL = "3pl"
    GRM = "grm"
    GPCM = "gpcm"


DICHOTOMOUS_MODELS = frozenset({IrtModel.TWO_PL, IrtModel.THREE_PL})
POLYTOMOUS_MODELS = frozenset({IrtModel.GRM, IrtModel.GPCM})


@dataclass(frozen=True)
class Option:
    key: str
    text: str


@dataclass(frozen=True)
class Media:
    src: str
    alt: str = ""


@dataclass(frozen=True)
class IrtParams:
    """Item parameters in the IRT form (logistic, D = 1); ``b`` for 2pl/3pl, ``thresholds`` for grm/gpcm."""

    model: IrtModel
    a: float
    b: float | None = None
    c: float | None = None
    thresholds: tuple[float, ...] | None = None
    parameterisation: str = PARAMETERISATION
    source: str = "provisional"  # "provisional" | "expert" | "calibration:<run id>"
    version: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": str(self.model),
            "a": self.a,
            "b": self.b,
            "c": self.c,
            "thresholds": list(self.thresholds) if self.thresholds is not None else None,
            "parameterisation": self.parameterisation,
            "source": self.source,
            "version": self.version,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> IrtParams:
        thresholds = data.get("thresholds")
        return cls(
            model=IrtModel(data["model"]),
            a=float(data["a"]),
            b=None if data.get("b") is None else float(data["b"]),
            c=None if data.get("c") is None else float(data["c"]),
            thresholds=None if thresholds is None else tuple(float(t) for t in thresholds),
            parameterisation=data.get("parameterisation", PARAMETERISATION),
            source=data.get("source", "provisional"),
            version=int(data.get("version", 1)),
        )


AnswerKey = str | tuple[str, ...] | bool | None
SCORED_TYPES = frozenset({ItemType.MULTIPLE, ItemType.SEQUENCE})  # types with a scoring rule


@dataclass(frozen=True)
class Item:
    """One bank item. ``key``: option key (single), tuple of keys (multiple), bool (truefalse),
    None (ordered), tuple of every option key in the correct order (sequence). ``scoring``: multiple
    and sequence items. ``scores``: (option key, category) pairs in option order, ordered items only."""

    id: str
    type: ItemType
    node: str
    lang: str
    level: str
    stem: str
    options: tuple[Option, ...] = ()
    key: AnswerKey = None
    scoring: Scoring | None = None
    scores: tuple[tuple[str, int], ...] | None = None
    explanation: str = ""
    tags: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    media: tuple[Media, ...] = ()
    irt: IrtParams | None = None
    status: ItemStatus = ItemStatus.OPERATIONAL

    @property
    def option_keys(self) -> tuple[str, ...]:
        if self.type is ItemType.TRUEFALSE:
            return TRUEFALSE_KEYS
        return tuple(o.key for o in self.options)

    @property
    def score_map(self) -> dict[str, int]:
        return dict(self.scores or ())

    def to_dict(self) -> dict[str, Any]:
        """The item as an entry of a "competency.items/1" file (fields in codes.md order)."""
        out: dict[str, Any] = {
            "id": self.id,
            "type": str(self.type),
            "node": self.node,
            "tags": list(self.tags),
            "roles": list(self.roles),
            "lang": self.lang,
            "level": self.level,
            "status": str(self.status),
            "stem": self.stem,
        }
        if self.type is not ItemType.TRUEFALSE:
            out["options"] = [{"key": o.key, "text": o.text} for o in self.options]
        if self.type in SCORED_TYPES:
            out["key"] = list(self.key)  # type: ignore[arg-type]
            out["scoring"] = str(self.scoring or Scoring.ALL_OR_NOTHING)
        elif self.type is ItemType.ORDERED:
            out["scores"] = self.score_map
        else:
            out["key"] = self.key
        out["explanation"] = self.explanation
        out["media"] = [{"src": m.src, "alt": m.alt} for m in self.media]
        out["irt"] = self.irt.to_dict() if self.irt is not None else None
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Item:
        item_type = ItemType(data["type"])
        key: AnswerKey = data.get("key")
        scoring = None
        scores = None
        if item_type in SCORED_TYPES:
            key = tuple(key or ())
            scoring = Scoring(data.get("scoring") or Scoring.ALL_OR_NOTHING)
        elif item_type is ItemType.ORDERED:
            key = None
            scores = tuple((str(k), int(v)) for k, v in data["scores"].items())
        irt = data.get("irt")
        return cls(
            id=data["id"],
            type=item_type,
            node=data["node"],
            lang=data["lang"],
            level=data["level"],
            stem=data["stem"],
            options=tuple(Option(o["key"], o["text"]) for o in data.get("options") or ()),
            key=key,
            scoring=scoring,
            scores=scores,
            explanation=data.get("explanation") or "",
            tags=tuple(data.get("tags") or ()),
            roles=tuple(data.get("roles") or ()),
            media=tuple(_media(m) for m in data.get("media") or ()),
            irt=IrtParams.from_dict(irt) if irt is not None else None,
            status=ItemStatus(data.get("status") or DEFAULT_STATUS),
        )


def _media(entry: str | Mapping[str, Any]) -> Media:
    if isinstance(entry, str):
        return Media(entry)
    return Media(entry["src"], entry.get("alt") or "")


@dataclass(frozen=True)
class ItemBank:
    """A validated bank as imported: its name (file "bank" field or file stem) and items."""

    name: str
    items: tuple[Item, ...] = field(default_factory=tuple)


def bank_to_dict(items: Sequence[Item], bank: str) -> dict[str, Any]:
    return {"format": ITEM_FORMAT, "bank": bank, "items": [item.to_dict() for item in items]}
