"""Names the attempt and API modules import under ``assessments``; the use cases live in their own modules.

Definitions and editing: services/assessment_definitions; publishing: services/publishing; who may take
an assessment: services/audience; the frozen pool, bank and engines: services/pools (cached in
services/caches). Import from those; this module only keeps the answer path's imports working while it is
being reworked (issue 21, answering in one room).
"""

from competency.services.assessment_definitions import can_manage
from competency.services.audience import is_open_to, open_assessments
from competency.services.pools import (
    PoolItem,
    engine_for,
    pool_items,
    published_engine,
    published_key,
    published_pool,
)

__all__ = [
    "PoolItem",
    "can_manage",
    "engine_for",
    "is_open_to",
    "open_assessments",
    "pool_items",
    "published_engine",
    "published_key",
    "published_pool",
]
