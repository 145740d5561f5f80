"""The programme's dashboard (the funnel and counts) and the export of every application."""

from __future__ import annotations

from flask import Response, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from competency.services import pilot_applications as apps
from competency.services import pilot_calls, pilot_dashboards
from competency.services.errors import ServiceError
from competency.web import charts
from competency.web.authz import roles_required
from competency.web.pilot_office.common import OFFICERS, bp
from competency.web.pilots import _type_labels, industry_names

FUNNEL_LABELS = {
    "drafts": _l("Drafts"),
    "submitted": _l("Submitted"),
    "screened": _l("Screened"),
    "diagnosed": _l("Diagnosed"),
    "reviewed": _l("Reviewed"),
    "selected": _l("Selected"),
    "designated": _l("Designated"),
}


@bp.route("/dashboard")
@roles_required(*OFFICERS)
def dashboard():
    """The funnel and counts by status, type, industry and region, for one call or all."""
    call_id = request.args.get("call", type=int)
    summary = pilot_dashboards.summary(call_id)
    labels = [str(FUNNEL_LABELS[name]) for name, _count in summary["funnel"]]
    counts = [count for _name, count in summary["funnel"]]
    funnel_svg = charts.bars(
        labels,
        counts,
        max(counts + [1]),
        _("Application funnel"),
        _("Applications that reached each step; the table beside gives the numbers."),
    )
    return render_template(
        "pilots/dashboard.html",
        summary=summary,
        funnel_svg=funnel_svg,
        funnel_labels=FUNNEL_LABELS,
        calls=pilot_calls.all_calls(),
        call_id=call_id,
        status_labels=apps.STATUS_LABELS,
        type_labels=_type_labels(),
        industry_names=industry_names(),
    )


@bp.route("/dashboard/export")
@roles_required(*OFFICERS)
def export():
    """Every application of a call (or all) as CSV (streamed) or XLSX."""
    call_id = request.args.get("call", type=int)
    fmt = request.args.get("format", "csv")
    if fmt == "xlsx":
        response = Response(
            pilot_dashboards.xlsx(call_id),
            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    elif fmt == "csv":
        # The rows are read in the request; the CSV text is produced and sent row by row.
        response = Response(
            pilot_dashboards.csv_stream(list(pilot_dashboards.rows(call_id))),
            mimetype="text/csv; charset=utf-8",
        )
    else:
        raise ServiceError("format", _("Choose CSV or XLSX."), "format")
    response.headers["Content-Disposition"] = f'attachment; filename="pilot-applications.{fmt}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
