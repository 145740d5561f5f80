"""The item bank in the database: import (all or nothing), export, editing, demo bank."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from sqlalchemy import select

from competency import graph
from competency.extensions import db
from competency.models import Item, ItemParams, User
from competency.services import audit, maps
from competency.tests_bank import bankio, schema
from competency.tests_bank.item_writing import item_writing_checks

DEMO_DIR = Path(__file__).resolve().parent.parent / "tests_bank" / "data" / "demo"
DEMO_FILES = ("teacher_items.json", "student_items.json", "job_items.json", "sequence_items.json")


def known_codes() -> tuple[set[str], set[str]]:
    """Node codes items may measure, and job-role codes they may serve."""
    nodes = set(maps.teacher_map().nodes) | set(maps.student_indicators().nodes)
    roles = {p.code for p in graph.job_profiles()}
    return nodes, roles


def to_schema(row: Item, version: ItemParams | None = None) -> schema.Item:
    """The pure schema item for a database row, with the given (default: current) parameter version."""
    params = version or current_params(row)
    data = dict(row.content)
    data.update(
        id=row.code,
        type=row.type,
        node=row.node,
        level=row.level,
        lang=row.lang,
        status=row.status,
        irt=params.as_irt_dict() if params else None,
    )
    return schema.Item.from_dict(data)


def current_params(row: Item) -> ItemParams | None:
    for version in reversed(row.versions):
        if version.version == row.current_version:
            return version
    return None


def _content_of(item: schema.Item) -> dict:
    data = item.to_dict()
    for column in ("id", "type", "node", "level", "lang", "status", "irt"):
        data.pop(column, None)
    return data


def _params_row(irt: schema.IrtParams, version: int) -> ItemParams:
    return ItemParams(
        version=version,
        model=str(irt.model),
        a=irt.a,
        b=irt.b,
        c=irt.c,
        thresholds=list(irt.thresholds) if irt.thresholds else None,
        parameterisation=irt.parameterisation,
        source=irt.source,
    )


def upsert(items: Iterable[schema.Item], bank: str, actor: User | None = None) -> tuple[int, int, int]:
    """Insert new items and update existing ones by code; a parameter change adds a version.

    Returns (created, updated, new parameter versions). The caller commits.
    """
    created = updated = versions = 0
    for item in items:
        row = db.session.scalar(select(Item).where(Item.code == item.id))
        if row is None:
            row = Item(code=item.id, bank=bank, current_version=1)
            db.session.add(row)
            created += 1
        else:
            updated += 1
        row.type, row.node, row.level, row.lang = str(item.type), item.node, item.level, item.lang
        row.status = str(item.status)
        row.content = _content_of(item)
        if item.irt is not None:
            current = current_params(row) if row.id is not None else None
            if current is None:
                row.versions.append(_params_row(item.irt, 1))
                row.current_version = 1
            elif current.as_irt_dict() | {"version": 0} != _params_row(item.irt, 0).as_irt_dict():
                row.current_version = current.version + 1
                row.versions.append(_params_row(item.irt, row.current_version))
                versions += 1
    db.session.flush()
    audit.record("items.import", "bank", bank, actor=actor, detail={"created": created, "updated": updated})
    return created, updated, versions


def import_file(path: str | Path, actor: User | None = None, data: bytes | None = None) -> dict:
    """Validate a whole file and write it in one transaction; any problem refuses it all (BankImportError)."""
    nodes, roles = known_codes()
    bank = bankio.import_items(path, nodes, roles, data=data)
    try:
        created, updated, versions = upsert(bank.items, bank=bank.name, actor=actor)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return {
        "bank": bank.name,
        "created": created,
        "updated": updated,
        "new_versions": versions,
        # Item-writing problems do not block an import; the page shows them beside the summary.
        "warnings": item_writing_checks(bank),
    }


def export_file(path: str | Path, bank: str | None = None, status: str | None = None) -> int:
    """Write the bank (or all items) to `path` in the format its name implies; returns the item count."""
    stmt = select(Item).order_by(Item.code)
    if bank:
        stmt = stmt.where(Item.bank == bank)
    if status:
        stmt = stmt.where(Item.status == status)
    items = [to_schema(row) for row in db.session.scalars(stmt)]
    bankio.export_items(items, path, bank=bank or "competency")
    return len(items)


def seed_demo_bank(log: Callable[[str], None]) -> None:
    """Load the demo item banks (idempotent: existing codes are updated, not duplicated)."""
    nodes, roles = known_codes()
    for name in DEMO_FILES:
        bank = bankio.import_items(DEMO_DIR / name, nodes, roles)
        created, _updated, _versions = upsert(bank.items, bank=bank.name)
        if created:
            log(f"{created} items from {name}")


def exposure_counts(codes: list[str] | None = None) -> dict[str, int]:
    """How many times each item was administered and answered (all assessments)."""
    from sqlalchemy import func

    from competency.models import Response

    stmt = select(Response.item_code, func.count()).group_by(Response.item_code)
    if codes is not None:
        stmt = stmt.where(Response.item_code.in_(codes))
    return dict(db.session.execute(stmt).all())
