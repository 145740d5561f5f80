"""The learning-resource catalog and the staged path templates: seeding and matching resources to gaps."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path

from sqlalchemy import select

from competency.extensions import db
from competency.models import PathTemplate, Resource

CATALOG_DIR = Path(__file__).resolve().parent.parent / "catalog" / "data"
RESOURCE_FIELDS = ("kind", "title_zh", "title_en", "summary_zh", "summary_en", "nodes", "roles", "levels", "hours", "provider", "url")  # fmt: skip
TEMPLATE_FIELDS = ("title_zh", "title_en", "audience", "layer_levels", "roles", "stages")
KINDS = ("micro_lecture", "online_course", "training_project", "teaching_case")


def _load(name: str, key: str) -> list[dict]:
    return json.loads((CATALOG_DIR / name).read_text(encoding="utf-8"))[key]


def _upsert(model, rows: list[dict], fields: tuple[str, ...]) -> tuple[int, int]:
    existing = {row.code: row for row in db.session.scalars(select(model))}
    added = updated = 0
    for data in rows:
        row = existing.get(data["code"])
        if row is None:
            db.session.add(model(code=data["code"], **{f: data.get(f) for f in fields}))
            added += 1
        elif any(getattr(row, f) != data.get(f) for f in fields):
            for f in fields:
                setattr(row, f, data.get(f))
            updated += 1
    return added, updated


def seed_resources(log: Callable[[str], None] = print) -> None:
    """Load the demo resource catalog and path templates; a second run changes nothing (no commit here)."""
    demo = [{**row, "demo": True} for row in _load("resources.json", "resources")]
    added, updated = _upsert(Resource, demo, (*RESOURCE_FIELDS, "demo"))
    log(f"resources: {added} added, {updated} updated")
    added, updated = _upsert(PathTemplate, _load("path_templates.json", "templates"), TEMPLATE_FIELDS)
    log(f"path templates: {added} added, {updated} updated")
    db.session.flush()


def resources_by_code(codes: Iterable[str]) -> dict[str, Resource]:
    codes = list(dict.fromkeys(codes))
    if not codes:
        return {}
    return {r.code: r for r in db.session.scalars(select(Resource).where(Resource.code.in_(codes)))}


def _rank_of(level: str) -> int:
    """L1..L6 and J0..J3 carry their rank in the digits."""
    digits = "".join(ch for ch in level if ch.isdigit())
    return int(digits) if digits else 0


def level_distance(resource_levels: list[str], wanted: list[str]) -> int:
    """0 when the resource serves a wanted level, else how many levels it is away."""
    if not resource_levels or not wanted:
        return 0
    return min(abs(_rank_of(a) - _rank_of(b)) for a in resource_levels for b in wanted)


def pick_resources(
    node: str,
    wanted_levels: list[str],
    role: str | None = None,
    catalog: list[Resource] | None = None,
    limit: int = 3,
) -> list[Resource]:
    """Resources serving ``node`` at the wanted levels, best first: the person's job role, then kind variety.

    Only when nothing serves the wanted levels is the nearest resource offered, so a beginner is not sent
    to an expert course.
    """
    rows = (
        catalog if catalog is not None else list(db.session.scalars(select(Resource).order_by(Resource.code)))
    )
    candidates = [r for r in rows if node in (r.nodes or [])]

    def rank(r: Resource) -> tuple:
        role_hit = role is not None and role in (r.roles or [])
        foreign_role = bool(r.roles) and not role_hit
        return (level_distance(r.levels or [], wanted_levels), foreign_role, not role_hit, r.code)

    ordered = sorted(candidates, key=rank)
    fitting = [r for r in ordered if rank(r)[0] == 0]
    if not fitting:
        return ordered[:1]
    chosen: list[Resource] = []
    kinds: set[str] = set()
    # First pass keeps one resource per kind, so a task mixes a lecture with practice where possible.
    for r in fitting:
        if len(chosen) < limit and r.kind not in kinds:
            chosen.append(r)
            kinds.add(r.kind)
    for r in fitting:
        if len(chosen) < limit and r not in chosen:
            chosen.append(r)
    return chosen


def templates(audience: str | None = None) -> list[PathTemplate]:
    stmt = select(PathTemplate).order_by(PathTemplate.code)
    if audience:
        stmt = stmt.where(PathTemplate.audience == audience)
    return list(db.session.scalars(stmt))


def resource_files(ids: Iterable[int]) -> set[int]:
    """Ids of the resources (among ``ids``) that have an uploaded file, without loading the files."""
    from competency.models import ResourceFile

    ids = list(ids)
    if not ids:
        return set()
    return set(db.session.scalars(select(ResourceFile.resource_id).where(ResourceFile.resource_id.in_(ids))))
