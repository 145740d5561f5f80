"""Calls for pilot applications (批次): creation and validation by programme officers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import select

from competency.extensions import db
from competency.models import PilotCall, User, utcnow
from competency.services import audit
from competency.services.errors import NotFound, ServiceError
from competency.services.pilot_form import ATTACHMENT_KINDS, ELIGIBLE_TYPES, FIELD_KEYS, industries

SHANGHAI = ZoneInfo("Asia/Shanghai")

DEFAULT_RUBRIC = [
    {"code": "plan", "name": "发展定位与建设规划", "max": 20},
    {"code": "base", "name": "基础条件（场地、设备、数字资源）", "max": 25},
    {"code": "projects", "name": "产教融合与校企合作成效", "max": 25},
    {"code": "guarantee", "name": "管理体制与运行机制", "max": 15},
    {"code": "demonstration", "name": "数字化特色与示范带动", "max": 15},
]
DEFAULT_PROCEDURE = (
    "公示期内，任何单位或个人对公示单位有异议的，可在本页提交书面异议，写明真实姓名和联系方式并附事实依据；"
    "匿名或无事实依据的异议不予受理。中心自收到之日起 10 个工作日内核实并答复。"
)


def local_to_utc(value: datetime) -> datetime:
    """A date-time typed in Beijing time (naive) as an aware UTC datetime."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=SHANGHAI)
    return value.astimezone(UTC)


def utc_to_local(value: datetime | None) -> datetime | None:
    return value.astimezone(SHANGHAI) if value is not None else None


def call_state(call: PilotCall, now: datetime | None = None) -> str:
    """upcoming | open | closed (the application window, by the server's clock)."""
    now = now or utcnow()
    if now < call.opens_at:
        return "upcoming"
    if now < call.closes_at:
        return "open"
    return "closed"


def parse_rubric(text: str) -> list[dict]:
    """One criterion per line, ``code | name | points``; the points add up to 100."""
    rubric: list[dict] = []
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) != 3 or not parts[0] or not parts[1]:
            raise ServiceError(
                "rubric_line", _("Rubric line %(n)s: write “code | name | points”.", n=number), "rubric"
            )
        try:
            points = int(parts[2])
        except ValueError:
            raise ServiceError(
                "rubric_points",
                _("Rubric line %(n)s: the points must be a whole number.", n=number),
                "rubric",
            ) from None
        if points <= 0:
            raise ServiceError(
                "rubric_points", _("Rubric line %(n)s: the points must be positive.", n=number), "rubric"
            )
        if any(c["code"] == parts[0] for c in rubric):
            raise ServiceError(
                "rubric_code", _("Rubric line %(n)s: the code is used twice.", n=number), "rubric"
            )
        rubric.append({"code": parts[0][:32], "name": parts[1][:120], "max": points})
    if not rubric:
        raise ServiceError("rubric_empty", _("The rubric needs at least one criterion."), "rubric")
    if sum(c["max"] for c in rubric) != 100:
        raise ServiceError("rubric_total", _("The rubric's points must add up to 100."), "rubric")
    return rubric


def rubric_text(rubric: list[dict]) -> str:
    return "\n".join(f"{c['code']} | {c['name']} | {c['max']}" for c in rubric)


def _validate(data: dict) -> dict:
    title = (data.get("title") or "").strip()
    if not title:
        raise ServiceError("missing_field", _("Title is required."), "title")
    types = [t for t in data.get("eligible_types") or [] if t in ELIGIBLE_TYPES]
    if not types:
        raise ServiceError(
            "missing_field", _("Choose at least one eligible institution type."), "eligible_types"
        )
    codes = {i.code for i in industries()}
    inds = [c for c in data.get("industries") or [] if c in codes]
    if not inds:
        raise ServiceError("missing_field", _("Choose at least one key industry."), "industries")
    opens, closes = data.get("opens_at"), data.get("closes_at")
    if opens is None:
        raise ServiceError("missing_field", _("Opening time is required."), "opens_at")
    if closes is None:
        raise ServiceError("missing_field", _("Deadline is required."), "closes_at")
    opens, closes = local_to_utc(opens), local_to_utc(closes)
    if closes <= opens:
        raise ServiceError("dates_order", _("The deadline must be after the opening time."), "closes_at")
    quota = data.get("quota")
    if not isinstance(quota, int) or quota < 1:
        raise ServiceError("quota", _("The quota must be a whole number of at least 1."), "quota")
    weight = data.get("weight_diagnosis")
    if not isinstance(weight, int) or not 0 <= weight <= 100:
        raise ServiceError(
            "weight", _("The diagnosis weight must be between 0 and 100 percent."), "weight_diagnosis"
        )
    threshold = data.get("spread_threshold")
    if not isinstance(threshold, int | float) or not 0 < threshold <= 100:
        raise ServiceError(
            "spread", _("The spread threshold must be between 0 and 100 points."), "spread_threshold"
        )
    rubric = parse_rubric(data.get("rubric") or "")
    # The required materials: None (not sent, e.g. from the demo) means every field and the stamped scan.
    chosen = data.get("required_fields")
    required = list(FIELD_KEYS) if chosen is None else [k for k in FIELD_KEYS if k in chosen]
    if not required:
        raise ServiceError(
            "missing_field", _("Choose the fields an application must fill."), "required_fields"
        )
    chosen_files = data.get("required_attachments")
    attachments = (
        ["stamped_scan"] if chosen_files is None else [k for k in ATTACHMENT_KINDS if k in chosen_files]
    )
    return {
        "title": title[:200],
        "description": (data.get("description") or "").strip(),
        "eligible_types": types,
        "industries": inds,
        "opens_at": opens,
        "closes_at": closes,
        "quota": quota,
        "weight_diagnosis": weight,
        "spread_threshold": float(threshold),
        "rubric": rubric,
        "required_fields": required,
        "required_attachments": attachments,
    }


def _snapshot(call: PilotCall) -> dict:
    return {
        "title": call.title,
        "eligible_types": call.eligible_types,
        "industries": call.industries,
        "opens_at": call.opens_at.isoformat() if call.opens_at else None,
        "closes_at": call.closes_at.isoformat() if call.closes_at else None,
        "quota": call.quota,
        "weight_diagnosis": call.weight_diagnosis,
        "spread_threshold": call.spread_threshold,
        "rubric": call.rubric,
    }


def create(data: dict, actor: User) -> PilotCall:
    values = _validate(data)
    call = PilotCall(**values, created_by=actor.id, objection_procedure=DEFAULT_PROCEDURE)
    db.session.add(call)
    db.session.flush()
    audit.record(
        "pilot_call.create", "pilot_call", call.id, actor, {"before": None, "after": _snapshot(call)}
    )
    db.session.commit()
    return call


def update(call: PilotCall, data: dict, actor: User) -> PilotCall:
    values = _validate(data)
    if (
        call.applications
        and values["rubric"] != call.rubric
        and any(r.submitted_at for a in call.applications for r in a.reviews)
    ):
        raise ServiceError(
            "rubric_locked",
            _("Experts have already scored against this rubric; it can no longer change."),
            "rubric",
        )
    before = _snapshot(call)
    for key, value in values.items():
        setattr(call, key, value)
    audit.record(
        "pilot_call.update", "pilot_call", call.id, actor, {"before": before, "after": _snapshot(call)}
    )
    db.session.commit()
    return call


def get(call_id: int) -> PilotCall:
    call = db.session.get(PilotCall, call_id)
    if call is None:
        raise NotFound("not_found", _("No such call."))
    return call


def all_calls() -> list[PilotCall]:
    return list(
        db.session.scalars(select(PilotCall).order_by(PilotCall.opens_at.desc(), PilotCall.id.desc()))
    )


def open_calls(now: datetime | None = None) -> list[PilotCall]:
    now = now or utcnow()
    return [c for c in all_calls() if c.opens_at <= now < c.closes_at]


def default_window() -> tuple[datetime, datetime]:
    """Today 09:00 to 30 days later 17:00, Beijing time (what the empty form proposes)."""
    today = utc_to_local(utcnow()).replace(hour=9, minute=0, second=0, microsecond=0, tzinfo=None)
    return today, (today + timedelta(days=30)).replace(hour=17)
