"""A published assessment's frozen pool as the engine, the delivery and grading use it, built once per process.

The pool is read once (each item at the parameter version frozen at publication) and everything the
answer path and grading need is derived from those rows together: the items and their delivery
payloads, the engine's bank and the per-dimension scoring item sets. Engines are shared per pool and
settings (they keep no attempt state). The entries live in services/caches, keyed by the publication.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from competency.extensions import db
from competency.irt.cat import Bank, Engine
from competency.irt.items import ItemSet, item_set
from competency.models import Assessment, Item, ItemParams
from competency.services import caches
from competency.services.assessment_definitions import dimension_for, map_for
from competency.services.caches import published_key
from competency.services.items import to_schema
from competency.tests_bank import schema
from competency.tests_bank.delivery import delivery_payload
from competency.tests_bank.params import engine_params

__all__ = [
    "PoolItem",
    "PublishedPool",
    "ScoringItems",
    "engine_bank",
    "engine_for",
    "make_bank",
    "pool_items",
    "pool_rows",
    "published_engine",
    "published_key",
    "published_pool",
    "scoring_items",
    "warm_published",
]


@dataclass(frozen=True)
class PoolItem:
    """A pool item as scored in this assessment: the authored item at its frozen parameter version.

    `payload` is what a taker is shown of it (tests_bank.delivery, position 0), built once because the
    item never changes in this pool; it is shared, so callers copy it before changing anything.
    """

    item: schema.Item
    version: int
    node: str
    dimension: str | None
    pilot: bool
    payload: dict


@dataclass(frozen=True)
class ScoringItems:
    """One dimension's scored pool items as an ItemSet, for grading's per-indicator estimates."""

    column: dict[str, int]  # item code → its column in `items`
    items: ItemSet


@dataclass(frozen=True)
class PublishedPool:
    """Everything derived from one publication's frozen pool."""

    items: dict[str, PoolItem]  # by item code, in code order
    bank: Bank
    scoring: dict[str | None, ScoringItems]  # dimension → its operational items

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(self.items)


def pool_rows(assessment: Assessment) -> list[tuple[Item, ItemParams]]:
    """The frozen pool: each item with the parameter version it is scored with."""
    codes = {entry["code"]: entry["version"] for entry in assessment.pool}
    rows = db.session.scalars(select(Item).where(Item.code.in_(codes))).all()
    out = []
    for row in sorted(rows, key=lambda r: r.code):
        version = next(v for v in row.versions if v.version == codes[row.code])
        out.append((row, version))
    return out


def make_bank(assessment: Assessment, rows: Sequence[tuple[Item, ItemParams]]) -> Bank:
    """The engine's bank of these items at these parameter versions (also the publishing simulation's)."""
    tree = map_for(assessment)
    items = [to_schema(row, params) for row, params in rows]
    return _bank(assessment, rows, items, [dimension_for(assessment, row.node, tree) for row, _p in rows])


def _bank(
    assessment: Assessment, rows, items: Sequence[schema.Item], dimensions: Sequence[str | None]
) -> Bank:
    multidimensional = len(assessment.dimensions) > 1
    return Bank.from_arrays(
        {
            **engine_params(items),
            "ids": [row.code for row, _p in rows],
            "content": [row.node for row, _p in rows],
            "dimension": [dim if multidimensional else 0 for dim in dimensions],
            "pilot": [row.status == "pilot" for row, _p in rows],
            "enemies": [row.content.get("enemies") or [] for row, _p in rows],
        }
    )


def _scoring(pool: dict[str, PoolItem]) -> dict[str | None, ScoringItems]:
    by_dim: dict[str | None, list[str]] = {}
    for code, entry in pool.items():
        if not entry.pilot:
            by_dim.setdefault(entry.dimension, []).append(code)
    return {
        dim: ScoringItems(
            {code: column for column, code in enumerate(codes)},
            item_set(engine_params([pool[code].item for code in codes])),
        )
        for dim, codes in by_dim.items()
    }


def _build(assessment: Assessment) -> PublishedPool:
    rows = pool_rows(assessment)
    tree = map_for(assessment)
    items: dict[str, PoolItem] = {}
    for row, params in rows:
        item = to_schema(row, params)
        dimension = dimension_for(assessment, row.node, tree)
        items[row.code] = PoolItem(
            item=item,
            version=params.version,
            node=row.node,
            dimension=dimension,
            pilot=row.status == "pilot",
            payload=delivery_payload(item, 0, dimension or ""),
        )
    entries = list(items.values())
    bank = _bank(assessment, rows, [e.item for e in entries], [e.dimension for e in entries])
    return PublishedPool(items, bank, _scoring(items))


def published(
    assessment_id: int, published_at: datetime | None, assessment: Assessment | None = None
) -> PublishedPool:
    """The pool by key; the assessment row is loaded only when this process has not built it yet."""
    pool = caches.POOLS.get(published_key(assessment_id, published_at))
    if pool is not None:
        return pool
    assessment = assessment if assessment is not None else db.session.get_one(Assessment, assessment_id)
    # Keyed by the row's own publication time, read with the pool it describes.
    return caches.POOLS.get_or_build(
        published_key(assessment.id, assessment.published_at), lambda: _build(assessment)
    )


def published_pool(
    assessment_id: int, published_at: datetime | None, assessment: Assessment | None = None
) -> dict[str, PoolItem]:
    """Item code → PoolItem by key (see `published`)."""
    return published(assessment_id, published_at, assessment).items


def pool_items(assessment: Assessment) -> dict[str, PoolItem]:
    """Item code → PoolItem for a published assessment (cached per process: the pool never changes)."""
    return published(assessment.id, assessment.published_at, assessment).items


def scoring_items(assessment: Assessment) -> dict[str | None, ScoringItems]:
    """Dimension → its operational pool items, at their frozen parameters (cached with the pool)."""
    return published(assessment.id, assessment.published_at, assessment).scoring


def engine_bank(assessment: Assessment) -> Bank:
    return published(assessment.id, assessment.published_at, assessment).bank


def _settings_key(config: dict | str) -> str:
    """Engine settings as canonical JSON text, the engine cache's key.

    Answering passes the attempt's settings as the JSON text it stored, unparsed: each distinct text
    is made canonical once per process, so both forms find the same engine.
    """
    if not isinstance(config, str):
        return json.dumps(config, sort_keys=True)
    return caches.SETTINGS.get_or_build(config, lambda: json.dumps(json.loads(config), sort_keys=True))


def engine_for(assessment: Assessment, config: dict) -> Engine:
    """The engine for a published pool and settings; engines keep no attempt state, so they are shared."""
    return published_engine(assessment.id, assessment.published_at, config, assessment)


def published_engine(
    assessment_id: int,
    published_at: datetime | None,
    config: dict | str,
    assessment: Assessment | None = None,
) -> Engine:
    """The engine by key; `config` is the settings, or their JSON text as an attempt stored them."""
    settings = _settings_key(config)
    engine = caches.ENGINES.get((*published_key(assessment_id, published_at), settings))
    if engine is not None:
        return engine
    if assessment is None:
        assessment = db.session.get_one(Assessment, assessment_id)
    pool = published(assessment.id, assessment.published_at, assessment)
    key = (*published_key(assessment.id, assessment.published_at), settings)
    return caches.ENGINES.get_or_build(key, lambda: Engine(pool.bank, json.loads(settings)))


def warm_published() -> int:
    """Build this process's pool and engine caches for every published assessment; how many."""
    rows = db.session.scalars(select(Assessment).where(Assessment.status == "published")).all()
    for assessment in rows:
        published(assessment.id, assessment.published_at, assessment)
        # Starting uses the definition's settings, answering the full settings each attempt records.
        engine = engine_for(assessment, assessment.engine)
        engine_for(assessment, engine.cfg.to_dict())
    return len(rows)
