"""The process caches: bounded LRU, keyed by publication, dropped on publish and when a pool item changes."""

from __future__ import annotations

import pytest

from competency.extensions import db
from competency.models import Item
from competency.services import caches, pools
from competency.services.caches import Lru, published_key
from competency.services.items import edit_item
from competency.services.publishing import publish


def test_lru_evicts_the_least_recently_used_entry_only():
    cache: Lru[str] = Lru("t", 2)
    cache.put("a", "A")
    cache.put("b", "B")
    assert cache.get("a") == "A"  # a use: "b" is now the least recent
    cache.put("c", "C")
    assert "b" not in cache and "a" in cache and "c" in cache and len(cache) == 2
    built = []
    assert cache.get_or_build("d", lambda: built.append(1) or "D") == "D"
    assert cache.get_or_build("d", lambda: built.append(1) or "X") == "D" and built == [1]
    assert cache.discard(lambda key, _value: key != "d") == 1 and "d" not in cache
    with pytest.raises(ValueError, match="maxsize"):
        Lru("t", 0)


@pytest.fixture
def fresh():
    caches.clear()
    yield
    caches.clear()


def test_pool_is_built_once_per_publication_and_bounded(fresh, monkeypatch, job_assessment):
    key = published_key(job_assessment.id, job_assessment.published_at)
    first = pools.pool_items(job_assessment)
    assert key in caches.POOLS and pools.pool_items(job_assessment) is first
    # The answer path asks by id and publication time only, and gets the same entry.
    assert pools.published_pool(job_assessment.id, job_assessment.published_at) is first
    engine = pools.engine_for(job_assessment, job_assessment.engine)
    assert pools.engine_bank(job_assessment) is engine.bank
    # With room for one pool, another entry evicts this one (the least recent) and nothing else.
    monkeypatch.setattr(caches.POOLS, "maxsize", 1)
    caches.POOLS.put((0, "another publication"), first)
    assert key not in caches.POOLS and len(caches.POOLS) == 1
    assert pools.pool_items(job_assessment) is not first  # rebuilt on the next use
    assert pools.pool_items(job_assessment) == first  # from the same frozen rows


def test_publishing_again_forgets_the_earlier_publication(fresh, job_assessment):
    old_key = published_key(job_assessment.id, job_assessment.published_at)
    pools.pool_items(job_assessment)
    pools.engine_for(job_assessment, job_assessment.engine)
    assert old_key in caches.POOLS and len(caches.ENGINES) == 1
    job_assessment.status = "draft"
    publish(job_assessment, n_simulees=10)
    new_key = published_key(job_assessment.id, job_assessment.published_at)
    assert new_key != old_key  # a new key: another host's entry for the old one is never asked for
    assert old_key not in caches.POOLS and len(caches.ENGINES) == 0
    assert new_key[0] == job_assessment.id and pools.pool_items(job_assessment)
    assert new_key in caches.POOLS


def test_editing_a_pool_item_forgets_the_pools_holding_it(fresh, job_assessment, make_user):
    key = published_key(job_assessment.id, job_assessment.published_at)
    pool = pools.pool_items(job_assessment)
    pools.engine_for(job_assessment, job_assessment.engine)
    code = next(c for c, entry in pool.items() if entry.item.type.value == "single")
    row = db.session.scalar(db.select(Item).where(Item.code == code))
    admin = make_user("platform_admin", "root")
    params = row.versions[-1]
    before = row.current_version
    edit_item(
        row,
        {
            "stem": "改过的题干",
            "explanation": "",
            "status": row.status,
            "a": params.a + 0.1,
            "b": params.b,
            "c": params.c,
        },
        admin,
    )
    assert row.current_version == before + 1  # the parameter change added a version
    assert key not in caches.POOLS and len(caches.ENGINES) == 0
    rebuilt = pools.pool_items(job_assessment)
    # Rebuilt from the database: the frozen version is kept, the edited text is shown.
    assert rebuilt[code].version == pool[code].version and rebuilt[code].item.stem == "改过的题干"
    assert caches.forget_items(["NO-SUCH-ITEM"]) == 0 and key in caches.POOLS
