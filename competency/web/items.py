"""Item bank administration: browse, filter, preview, edit, import and export."""

from __future__ import annotations

import io
from pathlib import Path

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import func, select
from wtforms import FloatField, SelectField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, NumberRange, Optional

from competency.extensions import db
from competency.graph import code_key as graph_key
from competency.models import Item, ItemParams
from competency.services import audit
from competency.services.items import current_params, exposure_counts, import_file, to_schema, upsert
from competency.tests_bank.bankio import export_bytes
from competency.tests_bank.delivery import delivery_payload
from competency.tests_bank.problems import BankImportError
from competency.web.authz import roles_required
from competency.web.forms import choices
from competency.web.labels import bi

bp = Blueprint("items", __name__, url_prefix="/admin/items")
PAGE_SIZE = 50
TEMPLATES = Path(__file__).resolve().parent.parent / "tests_bank" / "templates"
EXPORT_TYPES = {
    "json": ("application/json", "json"),
    "csv": ("text/csv", "csv"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "gift": ("text/plain", "gift"),
    "qti21": ("application/zip", "zip"),
    "qti30": ("application/zip", "qti3.zip"),
}
STATUSES = ("draft", "pilot", "operational", "retired")


class ImportForm(FlaskForm):
    file = FileField(_l("Item file"), validators=[FileRequired()])
    submit = SubmitField(_l("Import"))


ITEM_TYPE_LABELS = {
    "single": _l("Single choice"),
    "multiple": _l("Multiple choice"),
    "truefalse": _l("True or false"),
    "ordered": _l("Rating scale (ordered categories)"),
    "sequence": _l("Put in order"),
}
ITEM_STATUS_LABELS = {
    "draft": _l("Draft"),
    "pilot": _l("Pilot (not scored)"),
    "operational": _l("Operational"),
    "retired": _l("Retired"),
}


class ItemEditForm(FlaskForm):
    stem = TextAreaField(_l("Stem"), validators=[DataRequired()])
    explanation = TextAreaField(_l("Explanation"), validators=[Optional()])
    status = SelectField(_l("Status"), choices=choices(ITEM_STATUS_LABELS.items()))
    a = FloatField(_l("Discrimination a"), validators=[DataRequired(), NumberRange(min=0.01, max=10)])
    b = FloatField(_l("Difficulty b"), validators=[Optional(), NumberRange(min=-10, max=10)])
    c = FloatField(_l("Guessing c"), validators=[Optional(), NumberRange(min=0, max=0.4999)])
    submit = SubmitField(_l("Save"))


def _number(args, name: str) -> float | None:
    try:
        return float(args[name]) if args.get(name, "").strip() else None
    except ValueError:
        return None


def _filtered(args):
    """Items matching the filters; the difficulty range is a join on the current parameter version,
    so it is applied in the database before paging (every page is full and the total is right)."""
    stmt = select(Item)
    lo, hi = _number(args, "bmin"), _number(args, "bmax")
    if lo is not None or hi is not None:
        stmt = stmt.join(
            ItemParams, (ItemParams.item_id == Item.id) & (ItemParams.version == Item.current_version)
        ).where(ItemParams.b.is_not(None))
        if lo is not None:
            stmt = stmt.where(ItemParams.b >= lo)
        if hi is not None:
            stmt = stmt.where(ItemParams.b <= hi)
    if args.get("node"):
        stmt = stmt.where(Item.node.startswith(args["node"]))
    if args.get("type"):
        stmt = stmt.where(Item.type == args["type"])
    if args.get("status"):
        stmt = stmt.where(Item.status == args["status"])
    if args.get("bank"):
        stmt = stmt.where(Item.bank == args["bank"])
    if args.get("q"):
        stmt = stmt.where(Item.code.contains(args["q"]))
    return stmt


CHECK_LABELS = {
    "key-longest": _l("the key is the longest option far more often than chance"),
    "key-position": _l("keys concentrate on some positions"),
    "sequence-explanation": _l("the explanation names an order different from the key"),
    "duplicate-stem": _l("the same stem appears twice"),
    "partial-credit": _l("an option earns partial credit the explanation does not justify"),
}


@bp.route("/", methods=["GET", "POST"])
@roles_required("platform_admin")
def index():
    """Browse and filter the bank; import a file."""
    form = ImportForm()
    problems = None
    status = 200
    if form.validate_on_submit():
        upload = form.file.data
        try:
            summary = import_file(upload.filename or "upload", actor=current_user, data=upload.read())
        except BankImportError as exc:
            problems, status = exc.problems, 400
        else:
            flash(
                _(
                    "Imported %(bank)s: %(created)d new, %(updated)d updated, %(versions)d new parameter versions.",
                    bank=summary["bank"],
                    created=summary["created"],
                    updated=summary["updated"],
                    versions=summary["new_versions"],
                ),
                "success",
            )
            if summary["warnings"]:
                flash(
                    _(
                        "Item-writing warnings (the import went ahead): %(list)s",
                        list="; ".join(
                            f"{w.item}: {CHECK_LABELS.get(w.check, w.check)}" for w in summary["warnings"]
                        ),
                    ),
                    "error",
                )
            return redirect(url_for("items.index"))
    args = request.args
    page = max(1, args.get("page", 1, type=int))
    stmt = _filtered(args)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = db.session.scalars(stmt.order_by(Item.code).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    difficulty = {row.id: current_params(row) for row in rows}
    banks = db.session.scalars(select(Item.bank).distinct().order_by(Item.bank)).all()
    exposure = exposure_counts([r.code for r in rows])
    return (
        render_template(
            "items/index.html",
            rows=rows,
            params=difficulty,
            total=total,
            page=page,
            page_size=PAGE_SIZE,
            args=args,
            banks=banks,
            exposure=exposure,
            form=form,
            problems=problems,
            statuses=STATUSES,
            type_labels=ITEM_TYPE_LABELS,
            status_labels=ITEM_STATUS_LABELS,
            nodes=_node_choices(),
            export_types=EXPORT_TYPES,
        ),
        status,
    )


@bp.route("/<code>", methods=["GET", "POST"])
@roles_required("platform_admin")
def detail(code: str):
    """Preview an item as a test taker sees it, its key and parameter history; edit it."""
    row = db.session.scalar(select(Item).where(Item.code == code))
    if row is None:
        abort(404)
    params = current_params(row)
    form = ItemEditForm(
        data={
            "stem": row.content.get("stem"),
            "explanation": row.content.get("explanation"),
            "status": row.status,
            "a": params.a if params else None,
            "b": params.b if params else None,
            "c": params.c if params else None,
        }
        if request.method == "GET"
        else None
    )
    status = 200
    if form.validate_on_submit():
        data = to_schema(row).to_dict()
        data.update(stem=form.stem.data, explanation=form.explanation.data or "", status=form.status.data)
        irt = dict(data["irt"])
        irt.update(
            a=form.a.data, b=form.b.data, c=form.c.data if irt["model"] == "3pl" else None, source="expert"
        )
        data["irt"] = irt
        from competency.services.items import known_codes
        from competency.tests_bank.validation import validate_items

        nodes, roles = known_codes()
        try:
            items = validate_items([_raw(data)], nodes, roles, source=f"edit {code}")
        except BankImportError as exc:
            for problem in exc.problems:
                getattr(form, problem.field.split(".")[-1], form.stem).errors.append(problem.message)
            status = 400
        else:
            upsert(items, bank=row.bank, actor=current_user)
            audit.record("item.edit", "item", row.code, actor=current_user)
            db.session.commit()
            flash(_("Item saved."), "success")
            return redirect(url_for("items.detail", code=code))
    item = to_schema(row)
    return (
        render_template(
            "items/detail.html",
            row=row,
            item=item,
            preview=delivery_payload(item, 1, row.node),
            form=form,
            versions=list(reversed(row.versions)),
            exposure=exposure_counts([row.code]).get(row.code, 0),
            key_text=readable_key(item),
            type_labels=ITEM_TYPE_LABELS,
            status_labels=ITEM_STATUS_LABELS,
        ),
        status,
    )


def readable_key(item) -> str:
    """The key as a person reads it: "B", "A、C", "C → B → D → A", "true"/"false" words."""
    key = item.key
    if isinstance(key, bool):
        return _("True") if key else _("False")
    if isinstance(key, (list, tuple)):
        joiner = " → " if str(item.type) == "sequence" else ", "
        return joiner.join(str(k) for k in key)
    return "—" if key is None else str(key)


def _node_choices() -> list[tuple[str, str]]:
    """Dimensions and sub-dimensions of both maps, for the node filter (a prefix of item nodes)."""
    from competency.services import maps

    out = []
    for tree in (maps.teacher_map(), maps.student_indicators()):
        for code, data in sorted(tree.nodes(data=True), key=lambda n: graph_key(n[0])):
            if data.get("kind") != "indicator":
                out.append((code, f"{code} {bi(data)}"))
    return out


def _raw(data: dict):
    from competency.tests_bank.problems import RawItem

    return RawItem(location=f"item {data['id']}", data=data)


@bp.route("/export/<fmt>")
@roles_required("platform_admin")
def export(fmt: str):
    """Download the filtered bank in a format."""
    if fmt not in EXPORT_TYPES:
        abort(404)
    items = [to_schema(row) for row in db.session.scalars(_filtered(request.args).order_by(Item.code))]
    mimetype, ext = EXPORT_TYPES[fmt]
    data = export_bytes(items, fmt, bank=request.args.get("bank") or "competency")
    return send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=True, download_name=f"items.{ext}")


@bp.route("/template/<name>")
@roles_required("platform_admin")
def template(name: str):
    """The documented CSV/XLSX import templates."""
    files = {"csv": "items_template.csv", "xlsx": "items_template.xlsx", "format": "FORMAT.md"}
    if name not in files or not (TEMPLATES / files[name]).exists():
        abort(404)
    # Small files: sending bytes avoids an open file handle outliving an unconsumed response.
    data = (TEMPLATES / files[name]).read_bytes()
    return send_file(io.BytesIO(data), as_attachment=True, download_name=files[name])
