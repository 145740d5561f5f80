"""One way to pick a bilingual field: ``<field>_en`` in English, ``<field>_zh`` otherwise.

Pure (no Flask), so models, services and the pure packages call it with the locale they were given;
pages and views use `competency.web.labels.bi`, which supplies the viewer's locale.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def localized(obj: object, field: str = "name", english: bool = False) -> Any:
    """``obj.<field>_en`` when `english`, else ``obj.<field>_zh``; works on objects and mappings.

    Falls back to the other language, then to the object's ``code``, so a page never shows a blank.
    """
    first, second = (f"{field}_en", f"{field}_zh") if english else (f"{field}_zh", f"{field}_en")
    get = obj.get if isinstance(obj, Mapping) else (lambda key, default=None: getattr(obj, key, default))
    return get(first) or get(second) or get("code") or ""
