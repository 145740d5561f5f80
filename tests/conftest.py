"""Suite-wide ordering: the long tests first.

`make test` runs the suite on two workers (pytest-xdist); a long simulation or browser walk handed out
last would leave one worker idle while the other finishes it, so tests marked `slow` or `browser` are
collected first and the rest fill in around them. Without xdist the order changes nothing.
"""

from __future__ import annotations

LONG = ("slow", "browser")


def pytest_collection_modifyitems(config, items) -> None:
    items.sort(key=lambda item: not any(item.get_closest_marker(name) for name in LONG))
