"""Pages and exports at province scale (issue 23): wall time, SQL statements and peak RSS growth per
request, for cohorts of 1,000 and 10,000 members (100,000 with --sizes), on PostgreSQL.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/scale_23 \\
        .venv/bin/python benchmarks/bench_scale.py --reset --sizes 1000,10000
    ... --sizes 100000 --repeat 3       # the 100k cohort (seeding takes a few minutes)

--reset empties the database named by DATABASE_URL, applies the migrations and loads the demo; each size
then adds a cohort of that many teachers (flask seed-scale: one graded attempt with its responses each)
to the first demo institution, so the institution dashboard and the user list see every person added
so far. Each page is requested in-process through the Flask test client (templates rendered, exports
read to the end; no network, no server), after one warm-up request: the median wall time of --repeat
runs, the SQL statements of one run (an engine event counts them), and the growth of the peak resident
set during one run (the peak is reset through /proc/self/clear_refs before it, so each request is
measured on its own). Streamed exports are read chunk by chunk, as a client would, and their rows/s
printed. Layering (a POST that writes a plan per graded member) runs once per size, last. Exports are
measured streamed with no size threshold, and the XLSX exports once more as background jobs (run inline
in immediate mode, so the job's whole run is timed; above EXPORT_JOB_ROWS_* the app runs them so).

Only the database named by DATABASE_URL is touched; nothing listens on the network.
"""

from __future__ import annotations

import argparse
import contextvars
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, func, select  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/scale_23"


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS


class Counter:
    def __init__(self):
        self.n = 0

    def __call__(self, *_args):
        self.n += 1


def _request(client, method: str, url: str, data: dict | None = None) -> tuple[int, int, int]:
    """Status, bytes and CSV rows (lines) of one request, the body read chunk by chunk, in a context of
    its own (as a server runs it: the benchmark's app context and its `g` are not shared)."""
    return contextvars.Context().run(_read, client, method, url, data)


def _read(client, method: str, url: str, data: dict | None) -> tuple[int, int, int]:
    if method == "POST":
        response = client.post(url, data=data, buffered=False)
    else:
        response = client.get(url, buffered=False)
    size = lines = 0
    for chunk in response.response:
        size += len(chunk)
        lines += chunk.count(b"\n")
    response.close()
    return response.status_code, size, lines


def measure(app, client, name: str, method: str, url: str, repeat: int, data=None) -> dict:
    from competency.extensions import db

    counter = Counter()
    if method == "GET":
        status, *_ = _request(client, method, url)  # warm-up: templates compiled, caches filled
        assert status == 200, (name, status)
    times = []
    statements = growth = size = lines = 0
    for i in range(repeat if method == "GET" else 1):
        _reset_peak()
        before = _status_kb("VmRSS")
        if i == 0:
            event.listen(db.engine, "before_cursor_execute", counter)
        began = time.perf_counter()
        status, size, lines = _request(client, method, url, data)
        times.append(time.perf_counter() - began)
        if i == 0:
            event.remove(db.engine, "before_cursor_execute", counter)
            statements = counter.n
            growth = _status_kb("VmHWM") - before
        assert status in (200, 302), (name, status)
    median = statistics.median(times)
    row = {
        "page": name,
        "seconds": round(median, 3),
        "statements": statements,
        "rss_growth_mb": round(growth / 1024, 1),
        "bytes": size,
    }
    if name.endswith("csv"):
        row["rows_per_s"] = round((lines - 1) / median) if median else None
    return row


def measure_job(app, name: str, cohort_id: int, assignment_id: int, what: str, fmt: str) -> dict:
    """One export run as a background job (immediate mode): wall time, statements, RSS growth, rows/s."""
    from competency.extensions import db
    from competency.models import User
    from competency.services import export_jobs, jobs

    payload = {"cohort_id": cohort_id, "what": what, "format": fmt, "assignment_id": assignment_id}
    counter = Counter()
    with app.app_context():
        owner = db.session.scalar(select(User.id).where(User.username == "trainer"))
        _reset_peak()
        before = _status_kb("VmRSS")
        event.listen(db.engine, "before_cursor_execute", counter)
        began = time.perf_counter()
        job = jobs.enqueue(export_jobs.KIND, payload, owner_id=owner)  # no key: a fresh run each time
        seconds = time.perf_counter() - began
        event.remove(db.engine, "before_cursor_execute", counter)
        growth = _status_kb("VmHWM") - before
        assert job.status == "done", (name, job.status, job.error)
        rows, size = job.result["rows"], job.result["bytes"]
        db.session.remove()
    return {
        "page": name,
        "seconds": round(seconds, 3),
        "statements": counter.n,
        "rss_growth_mb": round(growth / 1024, 1),
        "bytes": size,
        "rows_per_s": round(rows / seconds) if seconds else None,
    }


def _login(app, username: str):
    client = app.test_client()
    response = contextvars.Context().run(
        client.post, "/login", data={"username": username, "password": "competency-demo"}
    )
    assert response.status_code == 302, f"login {username}: {response.status_code}"
    return client


def run(
    sizes: list[int],
    repeat: int,
    reset: bool,
    out: str | None,
    export_repeat: int | None = None,
    skip: tuple[str, ...] = (),
    existing: list[tuple[int, int]] | None = None,
) -> list[dict]:
    from competency import create_app
    from competency.extensions import db
    from competency.models import Cohort, CohortMembership, User
    from competency.services import paging
    from competency.services.scale_seed import seed_scale

    url = os.environ.setdefault("DATABASE_URL", DEFAULT_URL)
    # Exports are measured streamed (no size threshold) and, separately, as background jobs run
    # inline (immediate mode: the job's whole run is the measured time).
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "WTF_CSRF_ENABLED": False,
            "JOBS_BACKEND": "immediate",
            "EXPORT_JOB_ROWS_CSV": 10**12,
            "EXPORT_JOB_ROWS_XLSX": 10**12,
        }
    )
    results = []
    with app.app_context():
        if reset:
            from flask_migrate import upgrade

            from competency.services.demo import seed_demo
            from tests.app.conftest import drop_everything

            drop_everything(db.engine)
            upgrade()
            seed_demo(log=lambda _line: None)
        for size in existing or sizes:
            began = time.perf_counter()
            if existing:  # a cohort seeded by an earlier run: (cohort id, assignment id)
                (cohort_id, assignment_id), note = size, "seeded earlier"
                members = db.session.scalar(
                    select(func.count())
                    .select_from(CohortMembership)
                    .where(CohortMembership.cohort_id == cohort_id)
                )
            else:
                report = seed_scale(size, 0, cohort_size=size, seed=size, log=lambda _line: None)
                cohort_id, _name, members, assignment_id = report.cohorts[0]
                note = f"seed-scale took {time.perf_counter() - began:.1f} s, {report.responses} responses"
            people = db.session.scalar(select(func.count()).select_from(User))
            print(
                f"\n== cohort of {members} members (cohort {cohort_id}; {people} users in the database); {note}",
                flush=True,
            )
            cohort = db.session.get(Cohort, cohort_id)
            # A cursor nine tenths down the member list: a late page costs what the first does.
            late = db.session.execute(
                select(User.username, User.id)
                .join(CohortMembership, User.id == CohortMembership.user_id)
                .where(CohortMembership.cohort_id == cohort.id)
                .order_by(User.username)
                .offset(int(members * 0.9))
                .limit(1)
            ).first()
            after = paging.encode(late[0], late[1])
            db.session.remove()
            trainer, boss = _login(app, "trainer"), _login(app, "school_admin")
            base = f"/trainer/cohorts/{cohort_id}"
            export = f"{base}/export?assignment={assignment_id}"
            pages = [
                ("results page", trainer, "GET", f"{base}/assignments/{assignment_id}"),
                ("cohort page", trainer, "GET", base),
                ("members page", trainer, "GET", f"/cohorts/{cohort_id}"),
                ("members page at 90 %", trainer, "GET", f"/cohorts/{cohort_id}?after={after}"),
                ("responses export csv", trainer, "GET", f"{export}&what=responses&format=csv"),
                ("responses export xlsx", trainer, "GET", f"{export}&what=responses&format=xlsx"),
                ("results export csv", trainer, "GET", f"{export}&what=results&format=csv"),
                ("results export xlsx", trainer, "GET", f"{export}&what=results&format=xlsx"),
                ("institution dashboard", boss, "GET", "/trainer/institution"),
                ("admin user list", boss, "GET", "/admin/users"),
            ]
            for name, client, method, target in pages:
                if name in skip:
                    continue
                times = export_repeat if "export" in name and export_repeat else repeat
                row = {"members": members, **measure(app, client, name, method, target, times)}
                results.append(row)
                print(json.dumps(row, ensure_ascii=False), flush=True)
            for what, fmt in (("responses", "xlsx"), ("results", "xlsx")):
                name = f"{what} export {fmt} as a job"
                if name not in skip:
                    row = {"members": members, **measure_job(app, name, cohort_id, assignment_id, what, fmt)}
                    results.append(row)
                    print(json.dumps(row, ensure_ascii=False), flush=True)
            if "layering" in skip:
                continue
            layering = measure(
                app,
                trainer,
                "layering",
                "POST",
                f"{base}/layers",
                1,
                data={"layer-assignment_id": assignment_id, "layer-basis": "overall"},
            )
            row = {"members": members, **layering}
            results.append(row)
            print(json.dumps(row, ensure_ascii=False), flush=True)
            if "members export csv" in skip:
                continue
            members_export = measure(
                app,
                trainer,
                "members export csv",
                "GET",
                f"{base}/export?what=members&format=csv",
                export_repeat or repeat,
            )
            row = {"members": members, **members_export}
            results.append(row)
            print(json.dumps(row, ensure_ascii=False), flush=True)
    _table(results)
    if out:
        Path(out).write_text(json.dumps(results, ensure_ascii=False, indent=1))
    return results


def _table(results: list[dict]) -> None:
    sizes = sorted({r["members"] for r in results})
    names = list(dict.fromkeys(r["page"] for r in results))
    by = {(r["page"], r["members"]): r for r in results}
    print("\n| page / export | " + " | ".join(f"{s:,} members" for s in sizes) + " |")
    print("|---|" + "---|" * len(sizes))
    for name in names:
        cells = []
        for s in sizes:
            r = by.get((name, s))
            if r is None:
                cells.append("")
                continue
            cell = f"{r['seconds'] * 1000:.0f} ms, {r['statements']} SQL, +{r['rss_growth_mb']} MB"
            if r.get("rows_per_s"):
                cell += f", {r['rows_per_s']:,} rows/s"
            cells.append(cell)
        print(f"| {name} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", default="1000,10000", help="cohort sizes, comma-separated (e.g. 1000,10000,100000)"
    )
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per page (the median is printed)")
    parser.add_argument(
        "--reset", action="store_true", help="empty the database, migrate and load the demo first"
    )
    parser.add_argument(
        "--export-repeat", type=int, default=None, help="timed runs per export (default --repeat)"
    )
    parser.add_argument(
        "--skip", default="", help="pages to leave out, comma-separated (e.g. 'responses export xlsx')"
    )
    parser.add_argument("--json", default=None, help="also write the rows to this file")
    parser.add_argument(
        "--existing",
        default="",
        help="measure cohorts seeded by an earlier run instead of seeding: COHORT:ASSIGNMENT[,...]",
    )
    args = parser.parse_args()
    existing = [tuple(int(v) for v in pair.split(":")) for pair in args.existing.split(",") if pair]
    run(
        [int(s) for s in args.sizes.split(",") if s],
        args.repeat,
        args.reset,
        args.json,
        args.export_repeat,
        tuple(s.strip() for s in args.skip.split(",") if s.strip()),
        existing,
    )


if __name__ == "__main__":
    main()
