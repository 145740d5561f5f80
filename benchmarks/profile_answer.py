"""Where one answer's time goes, in process: the bench_api.py workload through Flask's test client.

One thread, no gunicorn and no HTTP: takers from the benchmark's seeded database (bench_api.py builds
and caches it) take their attempts as in bench_api.py; the script reports time and SQL statements
(and round trips to PostgreSQL: statements plus BEGIN/COMMIT/ROLLBACK) per answer, with --split
the CPU time of the main parts of a request, and with --cprofile the functions that cost most.

CPU time on a shared machine varies by a quarter from run to run. --callgrind counts the
instructions this process executes per answer instead (valgrind's callgrind, only while answering;
about 50 times slower): the same code and seed give the same count whatever else the machine does,
so a change of a few per cent shows.

    .venv/bin/python benchmarks/profile_answer.py --backend sqlite --answers 2000
    .venv/bin/python benchmarks/profile_answer.py --backend postgres --split --seed 1
    .venv/bin/python benchmarks/profile_answer.py --backend postgres --cprofile /tmp/answer.prof
    .venv/bin/python benchmarks/profile_answer.py --backend postgres --seed 1 --answers 300 --callgrind
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import shutil
import subprocess
import sys
import tempfile
import time
import types
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_api  # noqa: E402  (the same seeded database, accounts and answering rule)

# Parts of a request whose CPU time --split reports (module, attribute, label).
SPLIT = (
    ("competency.services.answering", "answer", "answers, whole service call"),
    ("competency.services.precompiled", "Precompiled._execute", "precompiled statements (driver only)"),
    ("competency.irt.cat.engine", "Engine.record_and_next", "engine: record and next item"),
    ("competency.services.answering", "_store", "store the response, move the attempt"),
    ("competency.services.attempt_closing", "grade_attempt", "grade on the last answer"),
    ("competency.services.attempt_lifecycle", "start_or_resume", "start attempts"),
    ("sqlalchemy.orm.scoping", "scoped_session.commit", "commit through the ORM session"),
    ("flask.app", "Flask.wsgi_app", "whole requests (all kinds)"),
)


def install_split() -> dict[str, list[float]]:
    """Wrap the SPLIT functions to add up the process CPU time spent in each; label → [seconds, calls]."""
    import importlib

    totals: dict[str, list[float]] = {}
    for module_name, attribute, label in SPLIT:
        owner = importlib.import_module(module_name)
        *path, name = attribute.split(".")
        for part in path:
            owner = getattr(owner, part)
        original = getattr(owner, name)
        totals[label] = [0.0, 0]

        def timed(*args, _original=original, _slot=totals[label], **kwargs):
            started = time.process_time()
            try:
                return _original(*args, **kwargs)
            finally:
                _slot[0] += time.process_time() - started
                _slot[1] += 1

        setattr(owner, name, timed)
    return totals


@dataclass(frozen=True)
class Options:
    answers: int
    profile_path: Path | None = None  # --cprofile
    seed: int | None = None
    split: bool = False
    show_sql: frozenset[str] = frozenset()  # request kinds whose statements are printed
    callgrind: bool = False  # running under valgrind: count instructions only while answering


def run(backend: str, options: Options) -> None:
    plan = bench_api.QUICK
    workdir = Path(tempfile.mkdtemp(prefix="profile-answer-"))
    if backend == "sqlite":
        template = bench_api.sqlite_template(plan, fresh=False)
    else:
        template = bench_api.pg_template(plan, fresh=False)
    try:
        with bench_api.fresh_database(backend, template, workdir) as database:
            os.environ.update(database.env)
            os.environ["COMPETENCY_ENV"] = "production"
            os.environ.setdefault("SECRET_KEY", "profile-answer-only")
            measure(options)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def measure(options: Options) -> None:
    answers, profile_path, seed = options.answers, options.profile_path, options.seed
    from sqlalchemy import event

    from competency.extensions import db

    if seed is not None:
        # Attempts draw their engine seed from `secrets`; a fixed stream repeats the same item paths,
        # so two runs of the same code do the same work (for instruction counts under callgrind).
        import competency.services.attempt_lifecycle as attempts_module

        stream = random.Random(seed)
        attempts_module.secrets = types.SimpleNamespace(randbits=stream.getrandbits)

    totals = install_split() if options.split else {}
    # The production entry point, as under gunicorn: every published assessment's caches are built
    # before the first request, so no measured request pays for building them.
    from competency.wsgi import app

    statements: Counter[str] = Counter()
    with app.app_context():
        engine = db.engine

    shown: list[str] = []  # the statements of the current request
    tracing: set[str] = set()  # kinds of request whose statements are still to be printed (--show-sql)

    @event.listens_for(engine, "before_cursor_execute")
    def _count(_conn, _cursor, statement, *_args):
        statements[statement.split(None, 1)[0].upper()] += 1
        shown.append(statement)

    # The answer route's hot statements run on the driver's cursor, outside SQLAlchemy's events.
    from competency.services.precompiled import Precompiled

    original_execute = Precompiled._execute

    def _counted(self, connection, params):
        sql = self._for(connection.dialect).sql
        statements[sql.split(None, 1)[0].upper()] += 1
        shown.append(sql)
        return original_execute(self, connection, params)

    Precompiled._execute = _counted

    for name in ("begin", "commit", "rollback"):
        event.listen(
            engine,
            name,
            lambda _conn, name=name: statements.__setitem__(name.upper(), statements[name.upper()] + 1),
        )

    client = app.test_client()
    users = [f"bench_student_{i:04d}" for i in range(10)]  # warm-up accounts
    counts = Counter()
    timings = Counter()

    per_request: Counter[str] = Counter()

    def call(kind, method, path, body=None, token=None):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        before = sum(statements.values())
        shown.clear()
        started = time.perf_counter()
        response = client.open(path, method=method, json=body, headers=headers)
        elapsed = time.perf_counter() - started
        finished = kind == "answer" and response.is_json and (response.get_json() or {}).get("finished")
        traced = "last answer" if finished else kind
        if traced in tracing:
            tracing.discard(traced)
            print(f"-- the statements of one {traced} request:")
            for statement in shown:
                print("   ", " ".join(statement.split())[:160])
        if finished:
            timings["last answer"] += elapsed
            counts["last answer"] += 1
            per_request["last answer"] += sum(statements.values()) - before
        timings[kind] += elapsed
        counts[kind] += 1
        per_request[kind] += sum(statements.values()) - before
        if response.status_code >= 400 and not (kind == "start" and response.status_code == 403):
            raise RuntimeError(f"{kind} {path}: {response.status_code} {response.get_data(as_text=True)}")
        return response.status_code, response.get_json()

    def take(limit: int) -> None:
        for username in users:
            _s, body = call(
                "token", "POST", "/api/v1/auth/token", {"username": username, "password": bench_api.PASSWORD}
            )
            token = body["token"]
            _s, body = call("list", "GET", "/api/v1/assessments", token=token)
            for assessment in body["assessments"]:
                for _attempt in range(bench_api.MAX_ATTEMPTS):
                    status, body = call(
                        "start", "POST", "/api/v1/attempts", {"assessment_id": assessment["id"]}, token
                    )
                    if status == 403:
                        break
                    attempt_id, item = body["id"], body["item"]
                    while item:
                        answer = {
                            "position": item["position"],
                            "item_id": item["item_id"],
                            "answer": bench_api.choose_answer(item),
                        }
                        _s, body = call(
                            "answer", "POST", f"/api/v1/attempts/{attempt_id}/responses", answer, token
                        )
                        item = None if body["finished"] else body["item"]
                        if counts["answer"] >= limit:
                            return

    warm = min(200, answers // 5)
    take(warm)  # caches, first-use imports
    tracing.update(options.show_sql)
    statements.clear()
    per_request.clear()
    counts.clear()
    for slot in totals.values():
        slot[:] = [0.0, 0]
    timings.clear()
    profiler = cProfile.Profile() if profile_path else None
    users = [f"bench_student_{i:04d}" for i in range(10, plan_students())]
    backend_pids: set[int] = set()
    if engine.dialect.name == "postgresql":
        # The server processes this app's pool talks to (one in a single-threaded run).
        rows = bench_api._pg("SELECT pid FROM pg_stat_activity WHERE datname = %s", engine.url.database)
        backend_pids = {row[0] for row in rows}
    db_started = bench_api.cpu_ticks(backend_pids)
    started = time.perf_counter()
    cpu_started = time.process_time()
    if profiler:
        profiler.enable()
    if options.callgrind:
        subprocess.run(["callgrind_control", "--instr=on", str(os.getpid())], check=True, capture_output=True)
    take(answers)
    if options.callgrind:
        subprocess.run(
            ["callgrind_control", "--instr=off", str(os.getpid())], check=True, capture_output=True
        )
    if profiler:
        profiler.disable()
    total = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    n = counts["answer"]
    print(f"{n} answers, {counts['start']} starts, {counts['token']} tokens in {total:.2f} s")
    print(
        f"  all requests: {1000 * total / n:.3f} ms per answer, {1000 * cpu / n:.3f} ms of it CPU in this process"
    )
    if backend_pids:
        db_cpu = (bench_api.cpu_ticks(backend_pids) - db_started) / os.sysconf("SC_CLK_TCK")
        print(f"  PostgreSQL server processes: {1000 * db_cpu / n:.3f} ms CPU per answer")
    for kind in ("answer", "last answer", "start", "token", "list"):
        if counts[kind]:
            print(
                f"  {kind:11s} {1000 * timings[kind] / counts[kind]:8.3f} ms each ({counts[kind]}),"
                f" {per_request[kind] / counts[kind]:5.1f} statements each"
            )
    print("statements per answer (all requests):")
    for name, count in statements.most_common():
        print(f"  {name:9s} {count / n:6.2f}")
    if totals:
        print("CPU time per answer, by part (--split):")
        for label, (seconds, calls) in totals.items():
            print(f"  {label:38s} {1e6 * seconds / n:7.0f} µs per answer ({calls} calls)")
    if profiler:
        profiler.dump_stats(profile_path)
        pstats.Stats(str(profile_path)).sort_stats("cumulative").print_stats(45)


def plan_students() -> int:
    return bench_api.QUICK.students


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--answers", type=int, default=1500)
    parser.add_argument("--seed", type=int, help="fixed attempt seeds, so runs repeat the same item paths")
    parser.add_argument("--split", action="store_true", help="CPU time per answer of the main parts")
    parser.add_argument(
        "--cprofile", type=Path, help="write a cProfile file here and print the top functions"
    )
    parser.add_argument(
        "--show-sql",
        default="",
        help="comma-separated request kinds (start, answer, last answer, token, list): print the"
        " statements of the first one measured",
    )
    parser.add_argument(
        "--callgrind",
        action="store_true",
        help="count instructions per answer under valgrind (repeatable; use with --seed)",
    )
    parser.add_argument("--under-callgrind", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.callgrind:
        return count_instructions(args)
    show = frozenset(kind.strip() for kind in args.show_sql.split(",") if kind.strip())
    options = Options(args.answers, args.cprofile, args.seed, args.split, show, args.under_callgrind)
    run(args.backend, options)
    return 0


def count_instructions(args: argparse.Namespace) -> int:
    """Run this script again under callgrind, instrumented only while answering; instructions per answer."""
    if shutil.which("valgrind") is None:
        raise SystemExit("--callgrind needs valgrind (Debian's package valgrind)")
    with tempfile.TemporaryDirectory(prefix="profile-answer-cg-") as tmp:
        out = Path(tmp) / "callgrind.out"
        command = [
            "valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
            sys.executable, __file__, "--backend", args.backend, "--answers", str(args.answers),
            *(["--seed", str(args.seed)] if args.seed is not None else []), "--under-callgrind",
        ]  # fmt: skip
        child = subprocess.run(command, capture_output=True, text=True)
        report = [line for line in child.stdout.splitlines() if not line.startswith("INFO ")]
        print("\n".join(report))
        if child.returncode != 0:
            print(child.stderr[-3000:], file=sys.stderr)
            return child.returncode
        totals = [line for line in out.read_text().splitlines() if line.startswith(("summary:", "totals:"))]
        instructions = int(totals[-1].split()[1])
    answered = next(int(line.split()[0]) for line in report if line.split()[1:2] == ["answers,"])
    print(f"instructions in this process while answering: {instructions / answered / 1e6:.3f} M per answer")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
