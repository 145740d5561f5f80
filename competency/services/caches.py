"""The process's caches: what a published assessment derives from its frozen pool, kept between requests.

Only things that never change for a given publication are kept (the pool's items and delivery payloads,
the engine's bank, the scoring item sets, the engines); attempt state never is, so any worker on any host
can serve any request.

Keys. Every pool entry is keyed by ``published_key(assessment id, published_at)``: the publication time
is the version of the frozen pool, and every reader gets it in the same query as the data it serves
(answering reads it with the attempt row, the publication time read with the attempt; other callers with the
assessment row). Publishing again writes a new time, so an entry built from an older publication is
never hit again, on this host or any other, with no message between hosts. The frozen pool names each
item's parameter version, and a version row is never edited (a change adds a version), so a new
parameter version cannot make an entry wrong either.

Invalidation therefore frees memory early rather than guarding correctness of the parameters:
``forget_assessment`` on publish drops the entries of earlier publications; ``forget_items`` on a new
parameter version or an edit of an item drops the entries whose pool holds it, so this process rebuilds
them from the database (an item's text is read from its live row; another process keeps the text it
built until that assessment is published again or the process restarts, as before).

Bounds. Each cache is an LRU with a stated size: a miss beyond the size evicts the least recently used
entry only (the old caches were emptied all at once when full, so a busy worker rebuilt every pool).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from datetime import datetime
from typing import Any, Generic, TypeVar

V = TypeVar("V")


class Lru(Generic[V]):
    """A bounded mapping that evicts the least recently used entry; safe to share between threads."""

    def __init__(self, name: str, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError("maxsize: must be at least 1")
        self.name = name
        self.maxsize = maxsize
        self._data: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: Hashable, value: V) -> V:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)
        return value

    def get_or_build(self, key: Hashable, build: Callable[[], V]) -> V:
        """The entry, built (outside the lock: building may query the database) when missing."""
        value = self.get(key)
        return value if value is not None else self.put(key, build())

    def discard(self, keep: Callable[[Hashable, V], bool]) -> int:
        """Drop every entry for which ``keep(key, value)`` is false; how many were dropped."""
        with self._lock:
            gone = [k for k, v in self._data.items() if not keep(k, v)]
            for k in gone:
                del self._data[k]
        return len(gone)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def items(self) -> list[tuple[Hashable, V]]:
        """A snapshot of the entries (does not count as a use)."""
        with self._lock:
            return list(self._data.items())

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __len__(self) -> int:
        return len(self._data)


PublishedKey = tuple[int, str]

# A published pool (its items, bank and scoring sets) per publication: demo data has 8 published
# assessments, a large institution a few dozen.
POOLS: Lru[Any] = Lru("pools", 64)
# Engines per publication and settings: two per assessment in practice (the definition's settings,
# which start an attempt, and the full settings every attempt records).
ENGINES: Lru[Any] = Lru("engines", 128)
# Settings JSON text as an attempt stored it → its canonical form (the engine key).
SETTINGS: Lru[str] = Lru("settings", 256)
# Maximum-rate exposure per publication: (monotonic time read, {item code: rate}); services/exposure
# re-reads an entry older than its TTL.
RATES: Lru[tuple[float, dict[str, float]]] = Lru("exposure rates", 64)


def published_key(assessment_id: int, published_at: datetime | None) -> PublishedKey:
    return assessment_id, published_at.isoformat() if published_at else ""


def _of_assessment(key: Hashable, assessment_id: int) -> bool:
    return isinstance(key, tuple) and key[0] == assessment_id


def forget_assessment(assessment_id: int) -> int:
    """Drop every publication's entries of an assessment (called on publish); how many were dropped."""
    return POOLS.discard(lambda k, _v: not _of_assessment(k, assessment_id)) + ENGINES.discard(
        lambda k, _v: not _of_assessment(k, assessment_id)
    )


def forget_items(codes: Iterable[str]) -> int:
    """Drop the pools holding any of these items, and their engines (called when items change)."""
    codes = set(codes)
    if not codes:
        return 0
    stale = {key for key, pool in POOLS.items() if codes & pool.codes}
    dropped = POOLS.discard(lambda k, _v: k not in stale)
    return dropped + ENGINES.discard(lambda k, _v: k[:2] not in stale)


def clear() -> None:
    for cache in (POOLS, ENGINES, SETTINGS, RATES):
        cache.clear()
