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
from sqlalchemy import select
from wtforms import FloatField, SelectField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, NumberRange, Optional

from competency.extensions import db
from competency.graph import code_key as graph_key
from competency.models import Item
from competency.services.items import (
    ItemFilters,
    current_params,
    edit_item,
    exposure_counts,
    import_file,
    item_page,
    to_schema,
)
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
    if form.validate_on_submit():
        upload = form.file.data
        try:
            summary = import_file(upload.filename or "upload", actor=current_user, data=upload.read())
        except BankImportError as exc:
            problems = exc.problems
        else:
            _flash_import(summary)
            return redirect(url_for("items.index"))
    page = max(1, request.args.get("page", 1, type=int))
    found = item_page(ItemFilters.from_args(request.args), page, PAGE_SIZE)
    return (
        render_template(
            "items/index.html",
            found=found,
            page=page,
            page_size=PAGE_SIZE,
            args=request.args,
            form=form,
            problems=problems,
            statuses=STATUSES,
            type_labels=ITEM_TYPE_LABELS,
            status_labels=ITEM_STATUS_LABELS,
            nodes=_node_choices(),
            export_types=EXPORT_TYPES,
        ),
        400 if problems else 200,
    )


def _flash_import(summary: dict) -> None:
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


@bp.route("/<code>", methods=["GET", "POST"])
@roles_required("platform_admin")
def detail(code: str):
    """Preview an item as a test taker sees it, its key and parameter history; edit it."""
    row = db.first_or_404(select(Item).where(Item.code == code))
    form = ItemEditForm(data=_form_data(row) if request.method == "GET" else None)
    status = 200
    if form.validate_on_submit():
        try:
            edit_item(row, form.data, current_user)
        except BankImportError as exc:
            for problem in exc.problems:
                getattr(form, problem.field.split(".")[-1], form.stem).errors.append(problem.message)
            status = 400
        else:
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


def _form_data(row: Item) -> dict:
    params = current_params(row)
    return {
        "stem": row.content.get("stem"),
        "explanation": row.content.get("explanation"),
        "status": row.status,
        "a": params.a if params else None,
        "b": params.b if params else None,
        "c": params.c if params else None,
    }


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
    """Dimensions and sub-dimensions of both maps, for the node filter (a node and the nodes below it)."""
    from competency.services import maps

    out = []
    for tree in (maps.teacher_map(), maps.student_indicators()):
        for code, data in sorted(tree.nodes(data=True), key=lambda n: graph_key(n[0])):
            if data.get("kind") != "indicator":
                out.append((code, f"{code} {bi(data)}"))
    return out


@bp.route("/export/<fmt>")
@roles_required("platform_admin")
def export(fmt: str):
    """Download the filtered bank in a format."""
    if fmt not in EXPORT_TYPES:
        abort(404)
    items = [to_schema(row) for row in db.session.scalars(ItemFilters.from_args(request.args).statement())]
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
