"""Time the item-bank exports of the demo bank (405 items) in every format, as an admin gets them.

    .venv/bin/python benchmarks/bench_item_export.py [--repeat 5]

Two measurements, medians of ``--repeat`` runs:

* route: GET /admin/items/export/<fmt> through the Flask test client on a fresh SQLite database with
  the demo bank (what an admin waits for: loading the items and writing the file);
* writer: the format's writer alone on the same 405 items.

Issue 20 asks that the XLSX export take no more than twice the CSV export (the route ratio).
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from pathlib import Path

FORMATS = ("json", "csv", "xlsx", "gift", "qti21", "qti30")
PASSWORD = "benchmark-password-1"


def _median(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    from flask_migrate import upgrade

    from competency import create_app
    from competency.extensions import db
    from competency.services import accounts
    from competency.services.items import DEMO_DIR, DEMO_FILES, known_codes, seed_demo_bank
    from competency.tests_bank import bankio

    folder = Path(tempfile.mkdtemp(prefix="bench-export-"))
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.sqlite3'}",
            "INSTANCE_DIR": str(folder),
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }
    )
    with app.app_context():
        upgrade()
        seed_demo_bank(lambda _line: None)
        accounts.create_user("bench_admin", PASSWORD, "platform_admin")
        db.session.commit()
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    client.post("/login", data={"username": "bench_admin", "password": PASSWORD, "csrf_token": token})

    nodes, roles = known_codes()
    items = []
    for name in DEMO_FILES:
        items += bankio.import_items(DEMO_DIR / name, nodes, roles).items

    print(f"{len(items)} items; median of {args.repeat} runs")
    print(f"{'format':7s} {'route s':>8s} {'writer s':>9s} {'size KiB':>9s}")
    route, writer = {}, {}
    for fmt in FORMATS:
        response = client.get(f"/admin/items/export/{fmt}")
        assert response.status_code == 200, (fmt, response.status_code)
        size = len(response.get_data())
        route[fmt] = _median(lambda fmt=fmt: client.get(f"/admin/items/export/{fmt}").get_data(), args.repeat)
        writer[fmt] = _median(lambda fmt=fmt: bankio.export_bytes(items, fmt, bank="demo"), args.repeat)
        print(f"{fmt:7s} {route[fmt]:8.3f} {writer[fmt]:9.3f} {size / 1024:9.0f}")
    print(f"route:  xlsx / csv = {route['xlsx'] / route['csv']:.2f}  (issue 20: at most 2)")
    print(f"writer: xlsx / csv = {writer['xlsx'] / writer['csv']:.2f}")


if __name__ == "__main__":
    main()
