"""Answer throughput of the JSON API under gunicorn, beside a bare one-insert Flask endpoint (issue 7).

Many simulated test takers drive the real API against gunicorn on SQLite and on PostgreSQL. Each
taker takes the next free benchmark account, gets a bearer token once, lists its assessments, and for
each one starts attempts until its attempts are used up, answering every item (first option; first
two options of a multiple choice; true; every key of a sequence, in the delivered order). The bare
endpoint (benchmarks/bare_app.py: parse JSON, one SQLite insert, commit) is measured in the same run
with the same load generator, the same gunicorn settings and the same number of concurrent takers.
Goal: the platform's answers/s at least 30 % of the bare endpoint's.

    .venv/bin/python benchmarks/bench_api.py --quick    # about a minute (sync -w4, 16 takers)
    .venv/bin/python benchmarks/bench_api.py            # about 4 minutes (sync and gthread, 8 and 32 takers)
    .venv/bin/python benchmarks/bench_api.py --backends sqlite --servers gthread:4:4 --concurrency 16
    .venv/bin/python benchmarks/bench_api.py --quick --py-spy /tmp/spy   # where the requests spend their time

Per server setting and number of takers, the bare endpoint and the platform on each backend run side
by side and take turns: each target's takers send only while its gate is open, and the counted time is
split into alternating slices (bare, SQLite, PostgreSQL, then the other way round, --rounds times).
The machine is shared and its speed drifts within a minute; consecutive runs of one target differed by
a fifth, while slices taken turn about see the same drift. The ratio is each platform target's
answers/s over the bare endpoint's, both counted in the same rounds; the summary also prints the lowest
and highest ratio of a single round. `--versus module:app` adds a what-if variant of the platform,
counted in the same rounds on its own copy of the database; `--versus-tree DIR` imports it from
another source tree (a git worktree of another commit), so two commits are compared in one run:

    git worktree add /tmp/base HEAD~1 && .venv/bin/pybabel compile -d /tmp/base/competency/translations
    .venv/bin/python benchmarks/bench_api.py --backends postgres --versus-tree /tmp/base --window 30 --rounds 10

Only 127.0.0.1 is ever contacted. Every run is bounded: a measuring window per configuration, a cap
on the requests of a configuration, socket timeouts, and the takers stop by themselves at the end
of the window. The load generator is a pool of threads, each with one http.client connection (kept
alive when the worker class allows it); its own CPU time is measured and printed beside the server's.

Each configuration gets a fresh copy of a seeded database (demo content plus benchmark accounts),
so every run starts from the same state. The seeded SQLite file and PostgreSQL template database are
cached, keyed by a hash of the schema and demo content; --fresh rebuilds them, --drop-pg-template
drops the templates at the end. `--app module:factory()` benchmarks another WSGI app over the same
database (a variant of the platform, for what-if experiments). PostgreSQL databases are named bench_api_*
(or $BENCH_API_PREFIX*); no other database is touched.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import http.client
import itertools
import json
import os
import queue
import secrets
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"  # the only address the load generator ever talks to
ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# Several people may benchmark on one machine and one PostgreSQL server: BENCH_API_PREFIX keeps one
# person's cached templates and throw-away databases apart from another's (templates of other source
# trees under the same prefix are dropped).
CACHE = Path(tempfile.gettempdir()) / f"competency-{os.environ.get('BENCH_API_PREFIX', 'bench_api_')}"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_PREFIX = os.environ.get("BENCH_API_PREFIX", "bench_api_")
PASSWORD = "bench-api-password-1"  # benchmark accounts live only in throw-away databases
INSTITUTION = "示范职业技术学院（演示）"
MAX_ATTEMPTS = 3  # the demo assessments' attempts policy: a taker moves on after this many
SOCKET_TIMEOUT = 30.0


# ----------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class ServerSetting:
    """Gunicorn settings shared by the platform and the bare endpoint."""

    worker_class: str  # "sync" or "gthread"
    workers: int
    threads: int = 1

    @classmethod
    def parse(cls, text: str) -> ServerSetting:
        """`sync:4` or `gthread:4:4` (class, workers, threads)."""
        parts = text.split(":")
        if parts[0] not in ("sync", "gthread") or len(parts) not in (2, 3):
            raise argparse.ArgumentTypeError(
                f"server setting {text!r}: use sync:WORKERS or gthread:WORKERS:THREADS"
            )
        threads = int(parts[2]) if len(parts) == 3 else 1
        return cls(parts[0], int(parts[1]), threads if parts[0] == "gthread" else 1)

    @property
    def label(self) -> str:
        return f"{self.worker_class} -w{self.workers}" + (
            f" -t{self.threads}" if self.worker_class == "gthread" else ""
        )

    def gunicorn_args(self) -> list[str]:
        args = ["-w", str(self.workers), "-k", self.worker_class]
        return [*args, "--threads", str(self.threads)] if self.worker_class == "gthread" else args


@dataclass(frozen=True)
class Plan:
    backends: tuple[str, ...]
    servers: tuple[ServerSetting, ...]
    concurrency: tuple[int, ...]
    warmup: float  # seconds of load before the window, not counted (workers build their caches)
    window: float  # seconds counted, platform
    bare_window: float  # seconds counted, bare endpoint (steadier, needs less)
    rounds: int  # the windows are counted in this many alternating slices per target
    max_requests: int  # per target and configuration, whatever the window
    students: int
    teachers: int


QUICK = Plan(("sqlite", "postgres"), (ServerSetting("sync", 4),), (16,), 3.0, 10.0, 4.0, 4, 50_000, 60, 20)
FULL = Plan(
    ("sqlite", "postgres"),
    (ServerSetting("sync", 4), ServerSetting("gthread", 4, 4)),
    (8, 32),
    3.0,
    12.0,
    8.0,
    6,
    200_000,
    120,
    40,
)


# ----------------------------------------------------------------------------- databases


# What the seeded database depends on: the schema and the demo content (not the rest of the code, which
# other work changes all the time). --fresh rebuilds after any other change that matters to seeding.
SEED_INPUTS = ("migrations", "models", "graph/data", "tests_bank/data", "catalog/data")
SEED_FILES = ("services/demo.py", "services/demo_assessments.py", "tests_bank/demo.py")


@functools.cache
def source_fingerprint() -> str:
    """Hash of the files the seeded database is built from: a change there invalidates the cache."""
    package = ROOT / "competency"
    paths = [p for d in SEED_INPUTS for p in (package / d).rglob("*")] + [package / f for f in SEED_FILES]
    digest = hashlib.sha256()
    for path in sorted(paths):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(ROOT)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def setup_database(url: str, students: int, teachers: int) -> None:
    """Run in a child process: migrate, seed the demo content, add the benchmark accounts."""
    env = {**os.environ, "DATABASE_URL": url, "COMPETENCY_ENV": "development"}
    cmd = [sys.executable, __file__, "--setup-db", str(students), str(teachers)]
    subprocess.run(cmd, env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, timeout=600)


def _setup_db_child(students: int, teachers: int) -> None:
    """The child side of setup_database (inside the app, DATABASE_URL from the environment)."""
    from flask_migrate import upgrade

    from competency import create_app
    from competency.extensions import db
    from competency.services import accounts
    from competency.services.demo import seed_demo

    # A cheap hash: the benchmark measures answering, not password stretching at login.
    app = create_app({"PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    with app.app_context():
        upgrade()
        seed_demo(log=lambda _line: None)
        institution = accounts.find_institution(INSTITUTION)
        for role, count in (("student", students), ("teacher", teachers)):
            for i in range(count):
                accounts.create_user(
                    f"bench_{role}_{i:04d}", PASSWORD, role, institution=institution, commit=False
                )
        db.session.commit()


def sqlite_template(plan: Plan, fresh: bool) -> Path:
    """The seeded SQLite file for this source tree (built once, then copied for every configuration)."""
    path = CACHE / f"template-{source_fingerprint()}-{plan.students}-{plan.teachers}.sqlite3"
    if fresh or not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        for old in CACHE.glob("template-*.sqlite3"):
            if source_fingerprint() not in old.name:  # an older source tree
                old.unlink()
        building = path.with_suffix(".building")
        building.unlink(missing_ok=True)
        print(f"building the SQLite template {path.name} ...", flush=True)
        setup_database(f"sqlite:///{building}", plan.students, plan.teachers)
        # The platform runs SQLite in WAL mode: fold the log into the file before it is copied alone.
        with contextlib.closing(sqlite3.connect(building)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        building.rename(path)
    return path


def journal_mode(path: Path) -> str:
    """The SQLite journal mode stored in the platform's database file (the bare endpoint copies it)."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return conn.execute("PRAGMA journal_mode").fetchone()[0]


def _pg(sql: str, *params) -> list[tuple]:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        cur = conn.execute(sql, params or None)
        return cur.fetchall() if cur.description else []


def _pg_url(name: str) -> str:
    return PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://").rsplit("/", 1)[0] + f"/{name}"


def pg_template(plan: Plan, fresh: bool) -> str:
    """The seeded PostgreSQL template database for this source tree."""
    name = f"{PG_PREFIX}tpl_{source_fingerprint()}_{plan.students}_{plan.teachers}"
    existing = {
        row[0] for row in _pg("SELECT datname FROM pg_database WHERE datname LIKE %s", PG_PREFIX + "%")
    }
    if fresh or name not in existing:
        for old in sorted(existing):
            if old.startswith(f"{PG_PREFIX}tpl_") and (fresh or source_fingerprint() not in old):
                _pg(f'DROP DATABASE IF EXISTS "{old}"')
        print(f"building the PostgreSQL template {name} ...", flush=True)
        _pg(f'CREATE DATABASE "{name}"')
        try:
            setup_database(_pg_url(name), plan.students, plan.teachers)
        except BaseException:
            _pg(f'DROP DATABASE IF EXISTS "{name}"')
            raise
    return name


@dataclass(frozen=True)
class Database:
    """A throw-away database: the environment that points the app at it, and its server processes."""

    env: dict[str, str]
    name: str | None = None  # PostgreSQL only; SQLite runs inside the gunicorn workers

    def pids(self) -> set[int]:
        """The PostgreSQL backends serving this database (their CPU is the database's share)."""
        if self.name is None:
            return set()
        return {row[0] for row in _pg("SELECT pid FROM pg_stat_activity WHERE datname = %s", self.name)}


@contextlib.contextmanager
def fresh_database(backend: str, template: str | Path, workdir: Path, tag: str = "") -> Iterator[Database]:
    """A copy of the template, dropped afterwards."""
    if backend == "sqlite":
        path = workdir / f"competency{tag}.sqlite3"
        # A WAL file left by an earlier run's server would be replayed into the fresh copy and
        # corrupt it ("database disk image is malformed"): the copy starts and ends with none.
        files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
        for file in files:
            file.unlink(missing_ok=True)
        shutil.copyfile(template, path)
        try:
            yield Database({"DATABASE_URL": f"sqlite:///{path}"})
        finally:
            for file in files:
                file.unlink(missing_ok=True)
        return
    name = f"{PG_PREFIX}run_{os.getpid()}{tag}"
    _pg(f'DROP DATABASE IF EXISTS "{name}"')
    _pg(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield Database({"DATABASE_URL": _pg_url(name)}, name)
    finally:
        _pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ----------------------------------------------------------------------------- servers and CPU


def cpu_ticks(pids: set[int]) -> int:
    """User + system clock ticks of these processes (those that vanished count nothing)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total


def machine_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of the whole machine, all cores."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def children_of(pid: int) -> set[int]:
    found = {pid}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.add(int(entry.name))
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Server:
    """One gunicorn, started by us on 127.0.0.1, ready when every worker has loaded the app."""

    def __init__(
        self,
        app: str,
        setting: ServerSetting,
        env: dict[str, str],
        workdir: Path,
        pythonpath: Path,
        tree: Path = ROOT,
    ):
        self.port = free_port()
        self.setting = setting
        self.ready_dir = workdir / f"ready-{self.port}"
        self.ready_dir.mkdir()
        conf = workdir / f"gunicorn-{self.port}.py"
        # post_worker_init runs after a worker imported the app: one marker file per ready worker.
        conf.write_text(
            "def post_worker_init(worker):\n"
            f"    open({str(self.ready_dir)!r} + '/' + str(worker.pid), 'w').close()\n"
        )
        cmd = [
            str(BIN / "gunicorn"),
            *setting.gunicorn_args(),
            "-b",
            f"{HOST}:{self.port}",
            "-c",
            str(conf),
            "--pythonpath",
            str(pythonpath),
            "--timeout",
            "60",
            "--log-level",
            "warning",
            app,
        ]
        self.log = (workdir / f"gunicorn-{self.port}.log").open("w")
        self.proc = subprocess.Popen(
            # gunicorn puts its working directory first on sys.path: the app is imported from `tree`
            cmd,
            env={**os.environ, **env},
            cwd=tree,
            stdout=self.log,
            stderr=self.log,
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while len(list(self.ready_dir.iterdir())) < self.setting.workers:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"gunicorn did not start; see {self.log.name}")
            time.sleep(0.1)

    def pids(self) -> set[int]:
        return children_of(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def keep_log(self, label: str) -> Path | None:
        """A copy of the server's log in the cache when it holds a traceback (the work dir is deleted)."""
        text = Path(self.log.name).read_text(errors="replace")
        if "Traceback" not in text:
            return None
        kept = CACHE / "logs" / f"{time.strftime('%Y%m%d-%H%M%S')}-{label}-{self.port}.log"
        kept.parent.mkdir(parents=True, exist_ok=True)
        kept.write_text(text)
        return kept


# ----------------------------------------------------------------------------- load generator


class Stopped(Exception):
    """The window is over or the request cap is reached."""


@dataclass
class Recorder:
    """Shared by one target's takers: the gate they pass before each call, latencies of calls that
    completed inside a counted slice, errors, the cap."""

    max_requests: int
    stop: threading.Event = field(default_factory=threading.Event)
    gate: threading.Event = field(default_factory=threading.Event)  # set: the takers may send
    window: tuple[float, float] = (float("inf"), float("inf"))  # the slice being counted
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter = field(default_factory=Counter)
    requests: int = 0
    inflight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def enter(self) -> None:
        """Wait for the gate, then count the call as in flight; Stopped once the target is stopped."""
        while True:
            self.gate.wait()
            with self.lock:
                if self.stop.is_set():
                    raise Stopped
                if self.gate.is_set():
                    self.inflight += 1
                    return

    def record(self, kind: str, started: float, ended: float, error: str | None) -> None:
        with self.lock:
            self.inflight -= 1
            self.requests += 1
            if self.requests >= self.max_requests:
                self.halt()
            if self.window[0] <= ended <= self.window[1]:
                if error:
                    self.errors[error] += 1
                else:
                    self.latencies.setdefault(kind, []).append(ended - started)

    def halt(self) -> None:
        self.stop.set()
        self.gate.set()  # waiting takers wake up and see the stop

    def pause(self) -> None:
        """Close the gate and wait until the calls already sent have come back."""
        self.gate.clear()
        deadline = time.monotonic() + SOCKET_TIMEOUT + 5
        while self.inflight > 0 and time.monotonic() < deadline:
            time.sleep(0.002)


class Client:
    """One keep-alive connection to 127.0.0.1; reconnects when the server closes it."""

    def __init__(self, port: int, recorder: Recorder):
        self.port = port
        self.recorder = recorder
        self.conn = http.client.HTTPConnection(HOST, port, timeout=SOCKET_TIMEOUT)

    def call(self, kind: str, method: str, path: str, body: dict | None = None, token: str | None = None):
        """(status, JSON body or None); every call is recorded under `kind`."""
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        payload = json.dumps(body).encode() if body is not None else None
        self.recorder.enter()
        started = time.perf_counter()
        try:
            status, data, error = self._send(method, path, payload, headers)
        except BaseException:
            # Recorded all the same: the in-flight count that `pause` waits on must come down.
            self.recorder.record(kind, started, time.perf_counter(), "exception")
            raise
        self.recorder.record(kind, started, time.perf_counter(), error)
        return status, data, error

    def _send(
        self, method: str, path: str, payload: bytes | None, headers: dict
    ) -> tuple[int, Any, str | None]:
        status, data, error = 0, None, None
        for retry in (False, True):
            try:
                self.conn.request(method, path, body=payload, headers=headers)
                response = self.conn.getresponse()
                raw = response.read()
                status = response.status
                data = (
                    json.loads(raw)
                    if raw and response.getheader("Content-Type", "").startswith("application/json")
                    else None
                )
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
                # A keep-alive connection the server closed while idle: reconnect once.
                self.conn.close()
                if retry:
                    error = type(exc).__name__
            except (OSError, http.client.HTTPException, ValueError) as exc:
                self.conn.close()
                error = type(exc).__name__
                break
        if error is None and not 200 <= status < 300:
            code = data.get("error", {}).get("code", "") if isinstance(data, dict) else ""
            error = f"{status} {code}".strip()
        return status, data, error

    def close(self) -> None:
        self.conn.close()


def choose_answer(item: dict):
    """First option; first two of a multiple choice; true; every key of a sequence as delivered."""
    keys = [option["key"] for option in item.get("options") or []]
    kind = item.get("type")
    if kind == "truefalse":
        return True
    if kind == "multiple":
        return keys[:2]
    if kind == "sequence":
        return keys
    return keys[0] if keys else 0


def platform_taker(client: Client, users: queue.Queue, shortage: threading.Event) -> None:
    """Take accounts one after the other and answer every attempt each may make."""
    while True:
        try:
            username = users.get_nowait()
        except queue.Empty:
            shortage.set()  # a longer window needs more benchmark accounts (Plan.students)
            return
        status, body, error = client.call(
            "token", "POST", "/api/v1/auth/token", {"username": username, "password": PASSWORD}
        )
        if error:
            continue
        token = body["token"]
        _status, body, error = client.call("list", "GET", "/api/v1/assessments", token=token)
        if error:
            continue
        for assessment in body["assessments"]:
            take_attempts(client, token, assessment["id"])


def take_attempts(client: Client, token: str, assessment_id: int) -> None:
    errors = 0
    attempts = 0
    while attempts < MAX_ATTEMPTS and errors < 5:
        status, body, error = client.call(
            "start", "POST", "/api/v1/attempts", {"assessment_id": assessment_id}, token
        )
        if status == 403:  # attempts used up
            return
        if error:
            errors += 1
            continue
        attempts += status == 201
        attempt_id, item = body["id"], body["item"]
        while item:
            answer = {"position": item["position"], "item_id": item["item_id"], "answer": choose_answer(item)}
            _status, body, error = client.call(
                "answer", "POST", f"/api/v1/attempts/{attempt_id}/responses", answer, token
            )
            if error:
                errors += 1
                break  # starting again resumes the attempt at its pending item
            item = None if body["finished"] else body["item"]


def bare_taker(client: Client, number: int) -> None:
    """Post answer-shaped bodies to the bare endpoint until stopped."""
    position = 0
    while True:
        position += 1
        body = {"attempt_id": number, "position": position, "item_id": f"BARE-{position:04d}", "answer": "A"}
        client.call("answer", "POST", "/answer", body)


@dataclass
class Measurement:
    label: str
    setting: ServerSetting
    concurrency: int
    seconds: float
    latencies: dict[str, list[float]]
    errors: Counter
    cores: dict[str, float]  # client, server, db, busy (whole machine): cores busy during the window
    shortage: bool
    log: Path | None = None  # the server's log, kept when it holds a traceback
    slices: list[float] = field(default_factory=list)  # answers/s of each counted slice, in order

    def rate(self, kind: str = "answer") -> float:
        return len(self.latencies.get(kind, [])) / self.seconds

    def percentile(self, q: int, kind: str = "answer") -> float:
        """The q-th percentile in milliseconds."""
        values = sorted(self.latencies.get(kind, []))
        if len(values) < 2:
            return values[0] * 1000 if values else float("nan")
        return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000


VERSUS_MARK = "*"  # labels the targets of --versus
SETTLE = 0.3  # seconds after a target's gate opens before its slice is counted


@dataclass
class Target:
    """One server under load in a configuration: the bare endpoint or the platform on one backend.

    Its takers run for the whole configuration but send only while its gate is open, so the targets
    of a configuration take turns: the measurement alternates short slices of each (see `interleave`).
    """

    label: str
    app: str
    setting: ServerSetting
    concurrency: int
    taker: Callable[[Client, int, threading.Event], None]
    database: Database
    max_requests: int
    window: float  # seconds counted in all, split over the rounds
    profile: Path | None = None  # a py-spy raw profile of the server during the slices
    wall_clock: bool = True  # profile waiting too (py-spy --idle), not only CPU
    tree: Path = ROOT  # the source tree the app is imported from (--versus-tree)
    seconds: float = 0.0  # counted so far
    slices: list[float] = field(default_factory=list)  # answers/s of each counted slice, in order
    cpu: Counter = field(default_factory=Counter)  # client, server, db seconds; machine busy/total ticks
    server: Server | None = None
    recorder: Recorder | None = None
    shortage: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)
    clients: list[Client] = field(default_factory=list)

    def start(self, workdir: Path) -> None:
        """Start the server and the takers, the gate closed."""
        self.server = Server(
            self.app, self.setting, self.database.env, workdir, ROOT / "benchmarks", self.tree
        )
        self.server.wait_ready()
        self.recorder = Recorder(max_requests=self.max_requests)
        self.clients = [Client(self.server.port, self.recorder) for _ in range(self.concurrency)]

        def run(index: int) -> None:
            with contextlib.suppress(Stopped):
                self.taker(self.clients[index], index, self.shortage)

        self.threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(self.concurrency)]
        for thread in self.threads:
            thread.start()

    def warm(self, seconds: float) -> None:
        """Load that is not counted (the workers build their caches, the pools fill)."""
        self.recorder.gate.set()
        self.recorder.stop.wait(seconds)
        self.recorder.pause()

    def count(self, seconds: float) -> None:
        """One counted slice: open the gate, let the load settle, count `seconds`, pause."""
        recorder, server = self.recorder, self.server
        recorder.gate.set()
        recorder.stop.wait(SETTLE)
        pids, db_pids = server.pids(), self.database.pids()
        before = (cpu_ticks(pids), cpu_ticks(db_pids), time.process_time(), machine_ticks())
        start = time.perf_counter()
        answered = len(recorder.latencies.get("answer", ()))
        recorder.window = (start, float("inf"))
        recorder.stop.wait(seconds)
        end = time.perf_counter()
        recorder.window = (start, end)
        pids |= server.pids()
        db_pids |= self.database.pids()
        after = (cpu_ticks(pids), cpu_ticks(db_pids), time.process_time(), machine_ticks())
        recorder.pause()
        hz = os.sysconf("SC_CLK_TCK")
        self.seconds += end - start
        self.slices.append((len(recorder.latencies.get("answer", ())) - answered) / (end - start))
        self.cpu["server"] += (after[0] - before[0]) / hz
        self.cpu["db"] += (after[1] - before[1]) / hz
        self.cpu["client"] += after[2] - before[2]
        self.cpu["busy"] += after[3][0] - before[3][0]
        self.cpu["ticks"] += after[3][1] - before[3][1]

    def stop(self) -> Measurement:
        """Stop the takers and the server; what was counted."""
        if self.recorder is not None:
            self.recorder.halt()
            for thread in self.threads:
                thread.join(SOCKET_TIMEOUT + 5)
            for client in self.clients:
                client.close()
        log = None
        if self.server is not None:
            self.server.stop()
            log = self.server.keep_log(self.label)
        seconds = max(self.seconds, 1e-9)
        cores = {
            "client": self.cpu["client"] / seconds,
            "server": self.cpu["server"] / seconds,
            "db": self.cpu["db"] / seconds,
            "busy": self.cpu["busy"] / max(self.cpu["ticks"], 1) * (os.cpu_count() or 1),
        }
        recorder = self.recorder or Recorder(max_requests=0)
        return Measurement(
            self.label,
            self.setting,
            self.concurrency,
            seconds,
            recorder.latencies,
            recorder.errors,
            cores,
            self.shortage.is_set(),
            log,
            self.slices,
        )

    def start_profiler(self, duration: float) -> subprocess.Popen | None:
        if self.profile is None:
            return None
        cmd = [
            str(BIN / "py-spy"), "record", "--pid", str(self.server.proc.pid), "--subprocesses", *(["--idle"] if self.wall_clock else []),
            "--nonblocking", "--rate", "50", "--duration", str(max(1, int(duration))),
            "--format", "raw", "--output", str(self.profile),
        ]  # fmt: skip
        return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def interleave(targets: list[Target], rounds: int, warmup: float) -> None:
    """Count every target in `rounds` turns, one target at a time, the order reversed every other round.

    The machine is shared and its speed drifts within a minute; targets counted in alternating short
    slices see the same drift, so their ratio holds where consecutive runs can differ by a fifth.
    """
    for target in targets:
        target.warm(warmup / 2 if target.label == "bare" else warmup)
    total = sum(t.window for t in targets) + rounds * len(targets) * SETTLE
    spies = [spy for t in targets if (spy := t.start_profiler(total)) is not None]
    for number in range(rounds):
        for target in targets if number % 2 == 0 else targets[::-1]:
            if target.recorder.stop.is_set():
                continue  # capped: what it counted stands (running out of accounts is flagged instead)
            target.count(target.window / rounds)
    for spy in spies:
        spy.wait(timeout=60)


# ----------------------------------------------------------------------------- profile summary


def _frame(frame: str) -> tuple[str, str, str]:
    """(function, file, line) of one py-spy raw frame, `function (path:line)`."""
    function, _, where = frame.rpartition(" (")
    path, _, line = where.rstrip(")").rpartition(":")
    return function, path, line


def summarise_profile(path: Path, top: int = 20) -> None:
    """Where requests spend their time: py-spy samples inside a request, as shares (wall clock with --idle).

    Three views: each competency function with everything it calls; the deepest competency line of each
    sample (which line of ours issued the slow call); the innermost frame (what actually ran or waited).
    """
    inclusive: Counter = Counter()
    deepest: Counter = Counter()
    leaves: Counter = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if "wsgi_app" not in stack:
            continue  # a worker idle between requests
        n = int(count)
        total += n
        frames = [_frame(f) for f in stack.split(";") if " (" in f]
        ours = [f for f in frames if f[1].startswith("competency/")]
        for function, file in {(f[0], f[1]) for f in ours}:
            inclusive[f"{function} ({file})"] += n
        if ours:
            deepest[f"{ours[-1][0]} ({ours[-1][1]}:{ours[-1][2]})"] += n
        function, file, lineno = frames[-1]
        leaves[f"{function} ({file.rsplit('/', 1)[-1]}:{lineno})"] += n
    if not total:
        print(f"  {path.name}: no samples inside requests")
        return
    print(f"\nprofile {path.name}: {total} samples inside requests")
    for title, counter, k in (
        ("competency functions, inclusive", inclusive, top),
        ("deepest competency line", deepest, top),
        ("innermost frame", leaves, 8),
    ):
        print(f"  {title}:")
        for name, n in counter.most_common(k):
            print(f"    {n / total:6.1%}  {name}")


# ----------------------------------------------------------------------------- report


HEADER = (
    f"{'backend':<9} {'gunicorn':<17} {'conc':>4} {'answers/s':>9} {'p50 ms':>7} {'p95 ms':>7} {'errors':>6} "
    f"{'vs bare':>7}   {'starts/s':>8} {'start p50':>9}   {'client':>6} {'server':>6} {'db':>5} {'busy':>5}"
)


def print_row(m: Measurement, bare: Measurement | None) -> None:
    ratio = f"{m.rate() / bare.rate():.0%}" if bare and bare.rate() else "–"
    c = m.cores
    db = f"{c['db']:5.2f}" if c["db"] else "    –"
    print(
        f"{m.label:<9} {m.setting.label:<17} {m.concurrency:>4} {m.rate():>9.1f} {m.percentile(50):>7.1f} "
        f"{m.percentile(95):>7.1f} {sum(m.errors.values()):>6} {ratio:>7}   {m.rate('start'):>8.1f} "
        f"{m.percentile(50, 'start'):>9.1f}   {c['client']:>6.2f} {c['server']:>6.2f} {db} {c['busy']:>5.2f}"
        + ("  (ran out of accounts)" if m.shortage else ""),
        flush=True,
    )
    if m.errors:
        print("          errors: " + ", ".join(f"{k} ×{v}" for k, v in m.errors.most_common(5)), flush=True)
    if m.log:
        print(f"          server tracebacks kept in {m.log}", flush=True)


def run_plan(plan: Plan, options: argparse.Namespace) -> list[Measurement]:
    """Per server setting and concurrency: the bare endpoint and the platform on each backend, all
    started together and counted in alternating slices (`interleave`)."""
    from bare_app import init_db  # benchmarks/ is sys.path[0] when this file runs as a script

    templates: dict[str, str | Path] = {}
    if "sqlite" in plan.backends:
        templates["sqlite"] = sqlite_template(plan, options.fresh)
    if "postgres" in plan.backends:
        templates["postgres"] = pg_template(plan, options.fresh)
    # The platform always runs SQLite in WAL mode (competency/app.py); without a SQLite run to read it
    # from, the bare endpoint still gets WAL, so a PostgreSQL-only run is not compared with a slower bare.
    bare_journal = options.bare_journal or (
        journal_mode(templates["sqlite"]) if "sqlite" in templates else "wal"
    )
    # One key shared by every worker of a server; production settings, as deployed.
    server_env = {"COMPETENCY_ENV": "production", "SECRET_KEY": secrets.token_hex(32)}
    apps = [(options.app, "", ROOT)]
    if options.versus or options.versus_tree:
        apps.append((options.versus or options.app, VERSUS_MARK, options.versus_tree or ROOT))
    results = []
    print(
        f"\n{os.cpu_count()} cores; CPU columns: cores busy during the counted slices (client = this load "
        "generator, server = gunicorn, db = PostgreSQL backends of the run, busy = whole machine, other "
        "people included)"
    )
    print(
        f"platform app: {options.app}; bare endpoint: SQLite journal_mode={bare_journal}; each configuration "
        f"counted in {plan.rounds} alternating rounds (bare {plan.bare_window:g} s, platform {plan.window:g} s "
        "in all)"
    )
    if len(apps) > 1:
        print(f"{VERSUS_MARK}: {apps[1][0]} from {apps[1][2]}, counted in the same rounds")
    print(HEADER, flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        workdir = Path(tmp)
        for setting in plan.servers:
            for concurrency in plan.concurrency:
                with contextlib.ExitStack() as stack:
                    bare_db = workdir / "bare.sqlite3"
                    for leftover in workdir.glob("bare.sqlite3*"):
                        leftover.unlink()
                    init_db(str(bare_db), bare_journal)
                    targets = [
                        Target(
                            "bare", "bare_app:create_app()", setting, concurrency,
                            lambda client, index, _shortage: bare_taker(client, index),
                            Database({"BARE_DB": str(bare_db)}), plan.max_requests, plan.bare_window,
                        )
                    ]  # fmt: skip
                    for backend, (app, mark, tree) in itertools.product(plan.backends, apps):
                        tag = "_versus" if mark else ""
                        database = stack.enter_context(
                            fresh_database(backend, templates[backend], workdir, tag)
                        )
                        database.env.update(server_env)
                        profile = None
                        if options.py_spy is not None:
                            name = f"{backend}{tag}-{setting.worker_class}-w{setting.workers}-t{setting.threads}-c{concurrency}"
                            profile = options.py_spy / f"{name}.txt"
                        users = accounts_queue(plan)
                        targets.append(
                            Target(
                                backend + mark, app, setting, concurrency,
                                lambda client, _index, shortage, users=users: platform_taker(client, users, shortage),
                                database, plan.max_requests, plan.window, profile, not options.py_spy_cpu, tree,
                            )
                        )  # fmt: skip
                    measured = []
                    try:
                        for target in targets:
                            target.start(workdir)
                        interleave(targets, plan.rounds, plan.warmup)
                    finally:
                        # Stopped before their databases are dropped (the ExitStack ends after this).
                        measured = [target.stop() for target in targets]
                bare = measured[0]
                for m in measured:
                    print_row(m, None if m is bare else bare)
                    if m is not bare and options.py_spy is not None:
                        tag = "_versus" if m.label.endswith(VERSUS_MARK) else ""
                        profile = options.py_spy / (
                            f"{m.label.rstrip(VERSUS_MARK)}{tag}-{setting.worker_class}-w{setting.workers}-t{setting.threads}-c{concurrency}.txt"
                        )
                        if profile.exists():
                            summarise_profile(profile)
                results.extend(measured)
    return results


def accounts_queue(plan: Plan) -> queue.Queue:
    """Students and teachers interleaved in the ratio of their numbers, the same order every run."""
    names = [f"bench_student_{i:04d}" for i in range(plan.students)]
    step = max(1, plan.students // max(plan.teachers, 1))
    for i in range(plan.teachers):
        names.insert(min(len(names), i * (step + 1)), f"bench_teacher_{i:04d}")
    users: queue.Queue = queue.Queue()
    for name in names:
        users.put(name)
    return users


def summary(results: list[Measurement]) -> None:
    print("\nratio of platform answers/s to the bare endpoint's, counted in the same rounds (goal ≥ 30%):")
    print("(rounds: the lowest and highest ratio of one round's slices)")
    bare: dict[tuple, Measurement] = {}
    for m in results:
        if m.label == "bare":
            bare[(m.setting, m.concurrency)] = m
    for m in results:
        if m.label != "bare":
            reference = bare[(m.setting, m.concurrency)]
            ratio = m.rate() / reference.rate() if reference.rate() else float("nan")
            # A target stopped early (capped, out of accounts) has fewer slices than the bare endpoint.
            rounds = [p / b for p, b in zip(m.slices, reference.slices, strict=False) if b]
            spread = f"rounds {min(rounds):.0%}–{max(rounds):.0%}" if rounds else ""
            print(
                f"  {m.label:<9} {m.setting.label:<17} c={m.concurrency:<3} {m.rate():7.1f} / "
                f"{reference.rate():7.1f} = {ratio:6.1%}  "
                + ("meets" if ratio >= 0.3 else "below")
                + f"  {spread}"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="one server setting, one concurrency (about a minute)"
    )
    parser.add_argument("--backends", help="comma-separated: sqlite,postgres")
    parser.add_argument("--servers", help="comma-separated gunicorn settings, e.g. sync:4,gthread:4:4")
    parser.add_argument("--concurrency", help="comma-separated numbers of concurrent takers, e.g. 8,32")
    parser.add_argument("--window", type=float, help="seconds counted per platform target and configuration")
    parser.add_argument("--rounds", type=int, help="alternating slices the counted seconds are split into")
    parser.add_argument("--fresh", action="store_true", help="rebuild the cached seeded databases")
    parser.add_argument(
        "--drop-pg-template", action="store_true", help="drop the PostgreSQL template at the end"
    )
    parser.add_argument("--app", default="competency.wsgi:app", help="the platform's WSGI app for gunicorn")
    parser.add_argument(
        "--versus",
        metavar="APP",
        help="a second WSGI app (a what-if variant) counted in the same rounds as --app, on its own database",
    )
    parser.add_argument(
        "--versus-tree",
        type=Path,
        metavar="DIR",
        help="import the --versus app (default: --app) from this source tree, e.g. a git worktree of"
        " another commit (its translations compiled): two commits compared in the same rounds",
    )
    parser.add_argument(
        "--bare-journal", help="journal mode of the bare endpoint (default: the platform database's)"
    )
    parser.add_argument(
        "--py-spy", type=Path, metavar="DIR", help="profile the platform servers with py-spy into DIR"
    )
    parser.add_argument(
        "--py-spy-cpu", action="store_true", help="profile CPU time only (default: wall clock)"
    )
    parser.add_argument(
        "--setup-db", nargs=2, type=int, metavar=("STUDENTS", "TEACHERS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.setup_db:
        _setup_db_child(*args.setup_db)
        return 0
    plan = QUICK if args.quick else FULL
    overrides = {}
    if args.backends:
        overrides["backends"] = tuple(b.strip() for b in args.backends.split(","))
        if not set(overrides["backends"]) <= {"sqlite", "postgres"}:
            parser.error("--backends: sqlite and/or postgres")
    if args.servers:
        try:
            overrides["servers"] = tuple(ServerSetting.parse(s) for s in args.servers.split(","))
        except (argparse.ArgumentTypeError, ValueError) as exc:
            parser.error(str(exc))
    if args.concurrency:
        overrides["concurrency"] = tuple(int(c) for c in args.concurrency.split(","))
    if args.window:
        overrides["window"] = args.window
    if args.rounds:
        overrides["rounds"] = args.rounds
    plan = Plan(**{**plan.__dict__, **overrides})
    started = time.monotonic()
    if args.py_spy:
        args.py_spy.mkdir(parents=True, exist_ok=True)
    results = run_plan(plan, args)
    summary(results)
    if args.drop_pg_template and "postgres" in plan.backends:
        for (name,) in _pg("SELECT datname FROM pg_database WHERE datname LIKE %s", f"{PG_PREFIX}tpl_%"):
            _pg(f'DROP DATABASE IF EXISTS "{name}"')
    print(f"\ntotal {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
