"""The item bank in the database: browse (filters in SQL, then pages), import (all or nothing), export,
editing one item, demo bank."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from flask_babel import gettext as _
from sqlalchemy import Select, func, select

from competency import graph
from competency.extensions import db
from competency.models import Item, ItemParams, User
from competency.services import audit, caches, maps
from competency.tests_bank import bankio, schema
from competency.tests_bank.item_writing import item_writing_checks
from competency.tests_bank.problems import BankImportError, ImportProblem, RawItem
from competency.tests_bank.validation import validate_items

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
    caches.forget_items(item.id for item in bank.items)
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
    from competency.models import Response

    stmt = select(Response.item_code, func.count()).group_by(Response.item_code)
    if codes is not None:
        stmt = stmt.where(Response.item_code.in_(codes))
    return dict(db.session.execute(stmt).all())


def edit_item(row: Item, edit: Mapping, actor: User) -> None:
    """Store an edit of one item's stem, explanation, status and a/b/c, checked like an import.

    A parameter change adds a version (attempts keep the one they were scored with); the edit is audited
    and committed. Problems raise BankImportError naming each field, and nothing changes.
    """
    data = to_schema(row).to_dict()
    source = f"edit {row.code}"
    if data["irt"] is None:  # the form edits values, not the model: a draft gets its parameters by import
        raise BankImportError(
            [
                ImportProblem(
                    source, f"item {row.code}", "irt", _("no IRT parameters yet; import them with the item")
                )
            ]
        )
    data.update(stem=edit["stem"], explanation=edit.get("explanation") or "", status=edit["status"])
    irt = dict(data["irt"])
    irt.update(
        a=edit["a"], b=edit.get("b"), c=edit.get("c") if irt["model"] == "3pl" else None, source="expert"
    )
    data["irt"] = irt
    nodes, roles = known_codes()
    items = validate_items([RawItem(location=f"item {row.code}", data=data)], nodes, roles, source=source)
    try:
        upsert(items, bank=row.bank, actor=actor)
        audit.record("item.edit", "item", row.code, actor=actor)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    caches.forget_items([row.code])


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text and text.strip() else None
    except ValueError:
        return None  # a typo in a number is ignored rather than failing the page


@dataclass(frozen=True)
class ItemFilters:
    """The bank page's filters. ``node`` is a map node: its own items and those below it."""

    node: str = ""
    type: str = ""
    status: str = ""
    bank: str = ""
    q: str = ""  # part of the item code, taken literally (no LIKE wildcards)
    b_min: float | None = None
    b_max: float | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> ItemFilters:
        text = {name: (args.get(name) or "").strip() for name in ("node", "type", "status", "bank", "q")}
        return cls(**text, b_min=_number(args.get("bmin")), b_max=_number(args.get("bmax")))

    def statement(self) -> Select[tuple[Item]]:
        """Items matching every filter, in the database (so paging and the total see only matches); the
        difficulty range is a join on the current parameter version."""
        stmt = select(Item)
        if self.b_min is not None or self.b_max is not None:
            stmt = stmt.join(
                ItemParams, (ItemParams.item_id == Item.id) & (ItemParams.version == Item.current_version)
            ).where(ItemParams.b.is_not(None))
            if self.b_min is not None:
                stmt = stmt.where(ItemParams.b >= self.b_min)
            if self.b_max is not None:
                stmt = stmt.where(ItemParams.b <= self.b_max)
        if self.node:
            # "S6.1" is S6.1 and S6.1.x, never S6.10: a prefix only counts up to a dot.
            stmt = stmt.where(
                (Item.node == self.node) | Item.node.startswith(f"{self.node}.", autoescape=True)
            )
        if self.type:
            stmt = stmt.where(Item.type == self.type)
        if self.status:
            stmt = stmt.where(Item.status == self.status)
        if self.bank:
            stmt = stmt.where(Item.bank == self.bank)
        if self.q:
            stmt = stmt.where(Item.code.contains(self.q, autoescape=True))
        return stmt.order_by(Item.code)


@dataclass(frozen=True)
class ItemPage:
    rows: list[Item]
    params: dict[int, ItemParams | None]  # item id → its current parameters
    exposure: dict[str, int]  # item code → times administered
    total: int  # matches over every page
    banks: list[str]  # every bank's name, for the filter


def item_page(filters: ItemFilters, page: int, size: int) -> ItemPage:
    """One page of the matching items, with the total over every page."""
    stmt = filters.statement()
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = list(db.session.scalars(stmt.offset((max(page, 1) - 1) * size).limit(size)))
    return ItemPage(
        rows=rows,
        params={row.id: current_params(row) for row in rows},
        exposure=exposure_counts([row.code for row in rows]),
        total=total,
        banks=list(db.session.scalars(select(Item.bank).distinct().order_by(Item.bank))),
    )
