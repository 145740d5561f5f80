"""Local time for people: times are stored in UTC and shown (on screen, on paper, in exports) in a zone.

Pure (no Flask): the PDF renderer and the export services use it as well as the templates.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_ZONE = "Asia/Shanghai"


def zone(name: str | None) -> ZoneInfo:
    """The named zone; an empty or unknown name falls back to Beijing time."""
    try:
        return ZoneInfo(name or DEFAULT_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_ZONE)


def to_local(value: datetime | None, zone_name: str | None = None) -> datetime | None:
    """``value`` (UTC; a naive value is taken as UTC) in the zone."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(zone(zone_name))


def local_date(value: datetime | None, zone_name: str | None = None) -> str:
    """ISO date (YYYY-MM-DD) of ``value`` in the zone; "" for None."""
    local = to_local(value, zone_name)
    return local.strftime("%Y-%m-%d") if local else ""


def local_iso(value: datetime | None, zone_name: str | None = None) -> str | None:
    """ISO 8601 with the zone's offset (e.g. 2026-12-05T07:30:00+08:00), for exports."""
    local = to_local(value, zone_name)
    return local.replace(microsecond=0).isoformat() if local else None


def offset_label(zone_name: str | None = None, at: datetime | None = None) -> str:
    """ "Asia/Shanghai, UTC+08:00": the zone's name and its offset (at ``at``, default now)."""
    tz = zone(zone_name)
    offset = (at or datetime.now(UTC)).astimezone(tz).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset else 0
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"{tz.key}, UTC{sign}{hours:02d}:{mins:02d}"
