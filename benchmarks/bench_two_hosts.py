"""Two app hosts behind one reverse proxy against one PostgreSQL, one host killed mid-run (issue 23, item 5).

The script builds everything itself in a temporary directory and tears it down at the end:

1. a PostgreSQL database (default `test_23b_hosts`, dropped first) migrated and seeded with the demo,
   plus the benchmark's teacher and student accounts;
2. two app hosts, each a gunicorn with sync workers serving `competency.wsgi:app` in production mode:
   by default each in its own network namespace (`ip netns add` + a veth pair, 10.231.N.2:8000,
   PostgreSQL reached through its Unix socket), or with `--isolation loopback` on 127.0.0.2 and
   127.0.0.3. Both get the same SECRET_KEY, generated for the run and passed in their environment;
3. one HAProxy (`/usr/sbin/haproxy`) on 127.0.0.1 in front, with health checks (and a host marked
   down at its first refused connection), per-server queues (maxconn = workers), connection-failure
   and empty-response retries redispatched to the other host;

then it checks that a browser session started on one host works on the other (login, page, CSRF form,
logout ending the session everywhere), and runs the load: `--takers` simulated people (half teachers
taking TDL-2026, half students taking SDL-2026) log in through the proxy (a tenth mistype their password
once), start an attempt and answer every item until the test stops, then read their result. Each
answer is drawn from the item's IRT model at the taker's true θ (N(0, Σ), r = 0.6 between dimensions).
When `--kill-after` answers have been acknowledged, host 1's gunicorn master and workers are killed
with SIGKILL. Clients retry on connection errors and 502/503/504 by sending the same request again;
an answer is idempotent by its position: a re-sent answer that was already stored gets 409
(stale position) and the client reads the attempt to learn it was stored and what comes next.

The report counts answers sent, acknowledged and stored (rows in the database), lost (acknowledged but
not stored, or stored with another item or answer), duplicated (two rows for one position or item),
the answer latency as a taker waits for it (retries included), takers finished, and errors by kind.

    python benchmarks/bench_two_hosts.py                       # 200 takers, 2 hosts x 2 workers, kill host 1
    python benchmarks/bench_two_hosts.py --takers 50 --no-kill --isolation loopback
    python benchmarks/bench_two_hosts.py --trainer-check       # a trainer reopening the largest cohort's results

`--trainer-check` measures the other "done when" of issue 23 instead: one host with 2 sync workers
behind the proxy, 50 takers finishing whole tests (each account one test) while one trainer, in
alternate slices, keeps reopening the results page of the largest cohort (`--cohort-size` teachers,
made with seed-scale) or rests; it reports the takers' answers/s, tests/min and latency in each state.

Runs as root for the network namespaces (`--isolation loopback` needs no privileges). Only the
database named by `--db` is created and dropped (`--keep-db` keeps it).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import queue
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BIN = Path(sys.executable).parent
HAPROXY = "/usr/sbin/haproxy"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_SOCKET = "/var/run/postgresql"
PASSWORD = "bench-hosts-password-1"  # benchmark accounts live only in the throw-away database
DEMO_PASSWORD = "competency-demo"
INSTITUTION = "示范职业技术学院（演示）"
ASSESSMENTS = {"teacher": "TDL-2026", "student": "SDL-2026"}
TIMEOUT = 30.0  # socket timeout of one request
GIVE_UP = 120.0  # a taker stops retrying one step after this long
RETRYABLE = {502, 503, 504}


# ----------------------------------------------------------------------------- database


def _pg(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql)


def create_database(name: str, accounts: int, cohort_size: int) -> dict:
    """Drop and create the database, then migrate and seed it in a child process; what it reports."""
    _pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _pg(f'CREATE DATABASE "{name}"')
    env = {**os.environ, "DATABASE_URL": tcp_url(name), "COMPETENCY_ENV": "development"}
    cmd = [sys.executable, __file__, "--_setup", str(accounts), str(cohort_size)]
    out = subprocess.run(cmd, env=env, cwd=ROOT, check=True, capture_output=True, text=True, timeout=1800)
    return json.loads(out.stdout.strip().splitlines()[-1])


def tcp_url(name: str) -> str:
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def _setup_child(accounts: int, cohort_size: int) -> None:
    """Migrate, seed the demo, add the accounts (and a large cohort); print what the parent needs."""
    from flask_migrate import upgrade
    from sqlalchemy import select

    from competency import create_app
    from competency.extensions import db
    from competency.models import Assessment
    from competency.services import accounts as account_service
    from competency.services.demo import seed_demo

    # A cheap hash: the run measures answering, not password stretching (the demo accounts keep scrypt).
    app = create_app({"PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    with app.app_context():
        upgrade()
        seed_demo(log=lambda _line: None)
        institution = account_service.find_institution(INSTITUTION)
        for i in range(accounts):
            role = "teacher" if i % 2 == 0 else "student"
            account_service.create_user(
                f"hosts_{role}_{i:05d}", PASSWORD, role, institution=institution, commit=False
            )
        db.session.commit()
        ids = {
            role: db.session.scalar(select(Assessment.id).where(Assessment.code == code))
            for role, code in ASSESSMENTS.items()
        }
        cohort = None
        if cohort_size:
            from competency.services.scale_seed import seed_scale

            report = seed_scale(cohort_size, 0, cohort_size=cohort_size, seed=cohort_size, log=lambda _l: None)
            cohort = max(report.cohorts, key=lambda c: c[2])
    print(json.dumps({"assessments": ids, "cohort": cohort}))


def answer_models(name: str, assessment_ids: dict[str, int]) -> dict[int, dict]:
    """Per assessment: its dimension codes and, per pool item, the schema item, parameters, dimension."""
    from competency import create_app
    from competency.extensions import db
    from competency.models import Assessment
    from competency.services.pools import pool_items

    app = create_app({"SQLALCHEMY_DATABASE_URI": tcp_url(name), "ENV": "development"})
    models = {}
    with app.app_context():
        for assessment_id in assessment_ids.values():
            assessment = db.session.get_one(Assessment, assessment_id)
            dims = list(assessment.dimensions)
            items = {
                code: (entry.item, entry.item.irt, entry.dimension or dims[0])
                for code, entry in pool_items(assessment).items()
            }
            models[assessment_id] = {"dimensions": dims, "items": items}
        db.session.remove()
        db.engine.dispose()
    return models


class Person:
    """A simulated taker: true θ per dimension; answers drawn from each item's model at that θ."""

    def __init__(self, model: dict, theta: np.ndarray, rng: np.random.Generator):
        self.items = model["items"]
        self.theta = dict(zip(model["dimensions"], theta, strict=True))
        self.rng = rng

    def answer(self, delivered: dict):
        from competency.tests_bank.scoring import score_answer
        from tests.app.simulated_takers import _answers, _probabilities

        item, params, dimension = self.items[delivered["item_id"]]
        probs = _probabilities(params, self.theta[dimension])
        category = int(self.rng.choice(len(probs), p=probs / probs.sum()))
        keys = [option["key"] for option in delivered.get("options") or []]
        scored = [(answer, score_answer(item, answer)) for answer in _answers(delivered["type"], keys)]
        best = min(abs(score - category) for _answer, score in scored)
        fitting = [answer for answer, score in scored if abs(score - category) == best]
        return fitting[int(self.rng.integers(len(fitting)))]


# ----------------------------------------------------------------------------- hosts and proxy


@dataclass
class Host:
    """One app host: a gunicorn master and its sync workers, in a network namespace or on a loopback address."""

    name: str
    address: str
    port: int
    namespace: str | None
    proc: subprocess.Popen | None = None
    log: Path | None = None

    @property
    def base(self) -> str:
        return f"{self.address}:{self.port}"

    def start(self, workdir: Path, workers: int, env: dict[str, str]) -> None:
        ready = workdir / f"ready-{self.name}"
        ready.mkdir()
        conf = workdir / f"gunicorn-{self.name}.py"
        conf.write_text(
            f"bind = {self.base!r}\nworkers = {workers}\nworker_class = 'sync'\ntimeout = 60\n"
            "loglevel = 'warning'\n"
            "def post_worker_init(worker):\n"
            f"    open({str(ready)!r} + '/' + str(worker.pid), 'w').close()\n"
        )
        cmd = [str(BIN / "gunicorn"), "-c", str(conf), "--pythonpath", str(ROOT), "competency.wsgi:app"]
        if self.namespace:
            cmd = ["ip", "netns", "exec", self.namespace, *cmd]  # ip execs gunicorn: same pid
        self.log = workdir / f"gunicorn-{self.name}.log"
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(
                cmd, env=env, cwd=ROOT, stdout=log, stderr=log, start_new_session=True
            )
        deadline = time.monotonic() + 120
        while len(list(ready.iterdir())) < workers:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"host {self.name} did not start; see {self.log}")
            time.sleep(0.1)

    def pids(self) -> list[int]:
        """The master and its workers."""
        if self.proc is None:
            return []
        found = [self.proc.pid]
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == self.proc.pid:
                        found.append(int(entry.name))
        return found

    def kill(self) -> list[int]:
        """SIGKILL the master and every worker at once (no graceful shutdown: a crashed machine)."""
        pids = self.pids()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        return pids

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def tracebacks(self) -> int:
        return self.log.read_text(errors="replace").count("Traceback") if self.log else 0


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@contextlib.contextmanager
def hosts_network(count: int, isolation: str):
    """Addresses for the hosts: a namespace with a veth pair each (root side 10.231.N.1, host 10.231.N.2)."""
    if isolation == "loopback":
        yield [Host(f"h{n}", f"127.0.0.{n + 1}", free_port(f"127.0.0.{n + 1}"), None) for n in range(1, count + 1)]
        return
    made = []
    try:
        hosts = []
        for n in range(1, count + 1):
            ns, outer, inner = f"c23b-h{n}", f"c23b-h{n}a", f"c23b-h{n}b"
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)  # a leftover of a killed run
            _ip("netns", "add", ns)
            made.append(ns)
            _ip("link", "add", outer, "type", "veth", "peer", "name", inner)
            _ip("link", "set", inner, "netns", ns)
            _ip("addr", "add", f"10.231.{n}.1/30", "dev", outer)
            _ip("link", "set", outer, "up")
            _ip("-n", ns, "addr", "add", f"10.231.{n}.2/30", "dev", inner)
            _ip("-n", ns, "link", "set", inner, "up")
            _ip("-n", ns, "link", "set", "lo", "up")
            hosts.append(Host(f"h{n}", f"10.231.{n}.2", 8000, ns))
        yield hosts
    finally:
        for ns in made:  # deleting the namespace deletes its end of the veth pair, and so the pair
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def free_port(address: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((address, 0))
        return s.getsockname()[1]


HAPROXY_CONFIG = """\
global
    maxconn 4000
    stats socket {workdir}/haproxy.sock mode 600 level admin
    log stdout format raw local0

defaults
    mode http
    log global
    option httplog
    option dontlog-normal
    timeout connect 1s
    timeout client 60s
    timeout server 60s
    timeout queue 60s
    timeout http-keep-alive 10s
    # A request whose connection failed, or whose server died before answering, goes to another host:
    # every POST of the JSON API is idempotent (an answer by its position, a start resumes the attempt).
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response

frontend www
    bind 127.0.0.1:{port}
    option forwardfor
    default_backend app

backend app
    balance roundrobin
    option httpchk GET /healthz
    http-check expect status 200
    # Sync workers serve one request each: the proxy queues the rest, so a dead host's queue moves on.
    # A refused connection marks the host down at once (health checks bring it back after 2 passes),
    # so the retries of the requests queued for it go to the live host instead of using themselves up.
    default-server inter 500 fall 2 rise 2 maxconn {workers} observe layer4 error-limit 1 on-error mark-down
{servers}
"""


class Proxy:
    def __init__(self, workdir: Path, hosts: list[Host], workers: int):
        self.port = free_port()
        self.workdir = workdir
        servers = "\n".join(f"    server {h.name} {h.base} check" for h in hosts)
        self.config = workdir / "haproxy.cfg"
        self.config.write_text(
            HAPROXY_CONFIG.format(workdir=workdir, port=self.port, workers=workers, servers=servers)
        )
        self.log = (workdir / "haproxy.log").open("w")
        self.proc = subprocess.Popen([HAPROXY, "-db", "-f", str(self.config)], stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 20
        while not self.all_up(len(hosts)):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"haproxy did not start or the hosts are not healthy; see {self.log.name}")
            time.sleep(0.2)

    def stats(self) -> dict[str, dict[str, str]]:
        """`show stat` of the backend's servers: status, requests, retries, redispatches."""
        with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as s:
            s.connect(str(self.workdir / "haproxy.sock"))
            s.sendall(b"show stat\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
            lines = data.decode().splitlines()
            header = lines[0].lstrip("# ").split(",")
            rows = [dict(zip(header, line.split(","), strict=False)) for line in lines[1:] if line]
            return {r["svname"]: r for r in rows if r.get("pxname") == "app"}
        return {}

    def all_up(self, count: int) -> bool:
        stats = self.stats()
        return sum(1 for name, row in stats.items() if name.startswith("h") and row["status"] == "UP") == count

    def abnormal(self) -> Counter:
        """Requests the proxy logged as abnormal, by server, status and termination state."""
        self.log.flush()
        found: Counter = Counter()
        for line in Path(self.log.name).read_text(errors="replace").splitlines():
            fields = line.split()
            if len(fields) > 9 and "/" in fields[3] and fields[5].lstrip("-").isdigit():
                found[f"{fields[3]} {fields[5]} {fields[9]}"] += 1
        return found

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.log.close()


# ----------------------------------------------------------------------------- HTTP


class Client:
    """One keep-alive HTTP connection; a request is (status, JSON or text, error kind or None)."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT)

    def request(self, method: str, path: str, body=None, headers: dict | None = None):
        headers = dict(headers or {})
        payload = None
        if isinstance(body, dict):
            payload, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        elif isinstance(body, str):
            payload, headers["Content-Type"] = body.encode(), "application/x-www-form-urlencoded"
        try:
            self.conn.request(method, path, body=payload, headers=headers)
            response = self.conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.conn.close()  # reconnects on the next request
            return 0, None, type(exc).__name__, None
        if response.getheader("Connection", "").lower() == "close":
            self.conn.close()
        ctype = response.getheader("Content-Type", "")
        data = json.loads(raw) if raw and ctype.startswith("application/json") else raw.decode(errors="replace")
        return response.status, data, None, response


def error_code(data) -> str:
    return data.get("error", {}).get("code", "") if isinstance(data, dict) else ""


@dataclass
class Tally:
    """What all takers saw, shared across threads."""

    errors: Counter = field(default_factory=Counter)
    answer_latency: list[float] = field(default_factory=list)
    sent: int = 0  # answer requests sent, retries included
    acknowledged: int = 0  # answers the client knows were stored (a 200, or a resync that moved past them)
    finished: int = 0
    finished_at: list[float] = field(default_factory=list)
    attempts: dict[int, dict[int, tuple[str, Any]]] = field(default_factory=dict)  # attempt → position → sent
    confirmed: dict[int, set[int]] = field(default_factory=dict)  # attempt → positions known stored
    lock: threading.Lock = field(default_factory=threading.Lock)
    started: float = field(default_factory=time.perf_counter)

    def error(self, kind: str) -> None:
        with self.lock:
            self.errors[kind] += 1


class GaveUp(Exception):
    pass


class Taker:
    """One person: log in, start, answer every item until the test stops, read the result."""

    def __init__(self, client: Client, tally: Tally, username: str, role: str, assessment_id: int,
                 person: Person, typo: bool):
        self.client, self.tally = client, tally
        self.username, self.role, self.assessment_id = username, role, assessment_id
        self.person, self.typo = person, typo
        self.token = ""

    def call(self, step: str, method: str, path: str, body=None, accept=(200, 201)):
        """Send until an answer that is not a transport failure or a 5xx from the proxy; same request each time."""
        deadline, delay = time.monotonic() + GIVE_UP, 0.05
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        while True:
            if step == "answer":
                with self.tally.lock:
                    self.tally.sent += 1
            status, data, error, _response = self.client.request(method, path, body, headers)
            if error is None and status not in RETRYABLE:
                if status not in accept:
                    self.tally.error(f"{step}: {status} {error_code(data)}".strip())
                return status, data
            self.tally.error(f"{step}: {error or status} (retried)")
            if time.monotonic() > deadline:
                raise GaveUp(step)
            time.sleep(delay)
            delay = min(delay * 2, 1.0)

    def run(self) -> None:
        try:
            self._run()
        except GaveUp as exc:
            self.tally.error(f"gave up at {exc}")

    def _run(self) -> None:
        if self.typo:  # a mistyped password first: counted by the throttle, must not lock anyone out
            self.call("login (mistyped)", "POST", "/api/v1/auth/token",
                      {"username": self.username, "password": PASSWORD + "x"}, accept=(401,))
        status, data = self.call("login", "POST", "/api/v1/auth/token",
                                 {"username": self.username, "password": PASSWORD})
        if status != 200:
            return
        self.token = data["token"]
        status, data = self.call("start", "POST", "/api/v1/attempts", {"assessment_id": self.assessment_id})
        if status not in (200, 201):
            return
        attempt_id, item = data["id"], data["item"]
        with self.tally.lock:
            self.tally.attempts[attempt_id] = {}
            self.tally.confirmed[attempt_id] = set()
        while item is not None:
            item = self.answer(attempt_id, item)
        status, data = self.call("result", "GET", f"/api/v1/attempts/{attempt_id}/result")
        if status == 200:
            with self.tally.lock:
                self.tally.finished += 1
                self.tally.finished_at.append(time.perf_counter())

    def answer(self, attempt_id: int, item: dict) -> dict | None:
        """Answer the pending item; the next one, or None when the test stopped."""
        position, item_id = item["position"], item["item_id"]
        value = self.person.answer(item)
        sent = self.tally.attempts[attempt_id]
        sent[position] = (item_id, value)
        body = {"position": position, "item_id": item_id, "answer": value}
        began = time.perf_counter()
        status, data = self.call("answer", "POST", f"/api/v1/attempts/{attempt_id}/responses", body,
                                 accept=(200,))
        if status == 200:
            nxt = None if data["finished"] else data["item"]
            self._confirm(attempt_id, position, began)
            return nxt
        if status == 409:
            # Already stored (a retry of an answer whose reply was lost) or the attempt has moved on:
            # the attempt says where it stands.
            status, state = self.call("resume", "GET", f"/api/v1/attempts/{attempt_id}")
            if status != 200:
                raise GaveUp("resume")
            if state["status"] not in ("started", "in_progress") or state["position"] > position:
                self._confirm(attempt_id, position, began)
            return state["item"] if state["status"] in ("started", "in_progress") else None
        raise GaveUp(f"answer {status} {error_code(data)}")

    def _confirm(self, attempt_id: int, position: int, began: float) -> None:
        with self.tally.lock:
            self.tally.acknowledged += 1
            self.tally.confirmed[attempt_id].add(position)
            self.tally.answer_latency.append(time.perf_counter() - began)


# ----------------------------------------------------------------------------- checks


def check_sessions(hosts: list[Host]) -> list[str]:
    """A browser session begun on host 1 is honoured on host 2, and logging out on one ends it on both."""
    one, two = (Client(h.address, h.port) for h in hosts[:2])
    out = []

    def cookie(response, jar: dict) -> dict:
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                jar[name] = rest.split(";", 1)[0]
        return jar

    def send(client, method, path, jar, form=None):
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())} if jar else {}
        status, data, error, response = client.request(method, path, form, headers)
        if error:
            raise RuntimeError(f"session check: {method} {path} failed: {error}")
        return status, data, cookie(response, dict(jar))

    def csrf(page: str) -> str:
        return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)

    from urllib.parse import urlencode

    _s, page, jar = send(one, "GET", "/login", {})
    form = urlencode({"csrf_token": csrf(page), "username": "hosts_teacher_00000", "password": PASSWORD})
    status, _d, logged_in = send(one, "POST", "/login", jar, form)
    out.append(f"login on h1: {status} (302 expected)")
    status, page, jar2 = send(two, "GET", "/account", logged_in)
    ok = status == 200 and "hosts_teacher_00000" in page
    out.append(f"the account page on h2 with h1's cookie: {status}, {'signed in' if ok else 'NOT signed in'}")
    form = urlencode({"csrf_token": csrf(page)})
    status, _d, _jar = send(one, "POST", "/logout", jar2, form)
    out.append(f"logout on h1 with h2's CSRF token: {status} (302 expected)")
    status, _d, _jar = send(two, "GET", "/account", logged_in)
    out.append(f"h2 with the cookie from before logout: {status} ({'refused' if status == 302 else 'STILL VALID'})")
    passed = ok and status == 302
    return [*out, "sessions across hosts: " + ("pass" if passed else "FAIL")]


def check_database(name: str, tally: Tally) -> dict:
    """Compare what clients know was stored with the rows in the database."""
    import psycopg

    ids = list(tally.attempts)
    with psycopg.connect(f"host={PG_SOCKET} user=postgres dbname={name}") as conn:
        rows = conn.execute(
            "SELECT attempt_id, position, item_code, answer FROM response WHERE attempt_id = ANY(%s)", (ids,)
        ).fetchall()
        statuses = dict(conn.execute(
            "SELECT status, count(*) FROM attempt WHERE id = ANY(%s) GROUP BY status", (ids,)
        ).fetchall())
        counters = conn.execute(
            "SELECT key, count FROM rate_counter WHERE key LIKE 'login%%' ORDER BY count DESC LIMIT 2"
        ).fetchall()
    stored: dict[tuple[int, int], list] = {}
    items: Counter = Counter()
    for attempt_id, position, item_code, answer in rows:
        stored.setdefault((attempt_id, position), []).append((item_code, answer.get("value")))
        items[(attempt_id, item_code)] += 1
    lost = mismatched = unacknowledged = stray = 0
    for attempt_id, sent in tally.attempts.items():
        for position in tally.confirmed[attempt_id]:
            found = stored.get((attempt_id, position))
            if not found:
                lost += 1
            elif found[0] != sent[position]:
                mismatched += 1
        for position in sent:
            if (attempt_id, position) in stored and position not in tally.confirmed[attempt_id]:
                unacknowledged += 1
    for attempt_id, position in stored:
        if position not in tally.attempts.get(attempt_id, {}):
            stray += 1
    duplicated = sum(len(v) - 1 for v in stored.values()) + sum(n - 1 for n in items.values())
    return {
        "stored": len(rows),
        "lost": lost + mismatched,
        "duplicated": duplicated,
        "stored_unacknowledged": unacknowledged,
        "stray": stray,
        "attempt_statuses": statuses,
        "login_counters": counters,
    }


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return float(np.percentile(np.asarray(values), q)) * 1000


# ----------------------------------------------------------------------------- runs


@dataclass
class Setup:
    db: str
    info: dict
    models: dict
    env: dict


def existing_info(name: str) -> dict:
    """What create_database reports, read from a database it built earlier (--reuse-db)."""
    import psycopg

    with psycopg.connect(f"host={PG_SOCKET} user=postgres dbname={name}") as conn:
        ids = {
            role: conn.execute("SELECT id FROM assessment WHERE code = %s", (code,)).fetchone()[0]
            for role, code in ASSESSMENTS.items()
        }
        cohort = conn.execute(
            "SELECT c.id, c.name, count(*), max(a.id) FROM cohort c"
            " JOIN cohort_membership m ON m.cohort_id = c.id JOIN cohort_assignment a ON a.cohort_id = c.id"
            " GROUP BY c.id, c.name ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()
    return {"assessments": ids, "cohort": list(cohort) if cohort else None}


def prepare(args, accounts: int, cohort_size: int = 0) -> Setup:
    if args.reuse_db:
        info = existing_info(args.db)
        return _setup_from(args, info)
    print(f"database {args.db}: migrate, seed the demo, {accounts} accounts"
          + (f", a cohort of {cohort_size}" if cohort_size else "") + " ...", flush=True)
    began = time.perf_counter()
    info = create_database(args.db, accounts, cohort_size)
    print(f"  ready in {time.perf_counter() - began:.0f} s", flush=True)
    return _setup_from(args, info)


def _setup_from(args, info: dict) -> Setup:
    models = answer_models(args.db, info["assessments"])
    url = (f"postgresql+psycopg://postgres@/{args.db}?host={PG_SOCKET}" if args.isolation == "netns"
           else tcp_url(args.db))
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY")},
        "COMPETENCY_ENV": "production",
        # One key for every host, from the environment: a session signed on one is valid on the other.
        "SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": url,
        "TRUSTED_PROXIES": "1",  # the proxy's X-Forwarded-For names the client, for login throttling
        "PYTHONPATH": str(ROOT),
    }
    return Setup(args.db, info, models, env)


def make_takers(
    setup: Setup, tally: Tally, port: int, n: int, first: int, seed: int, students_only: bool = False
) -> list[Taker]:
    rng = np.random.default_rng(seed)
    takers = []
    for i in range(first, first + n):
        role = "teacher" if i % 2 == 0 else "student"
        if students_only and role == "teacher":
            continue
        assessment_id = setup.info["assessments"][role]
        model = setup.models[assessment_id]
        dims = len(model["dimensions"])
        cov = np.full((dims, dims), 0.6)
        np.fill_diagonal(cov, 1.0)
        theta = rng.multivariate_normal(np.zeros(dims), cov)
        person = Person(model, theta, np.random.default_rng(rng.integers(2**32)))
        takers.append(Taker(Client("127.0.0.1", port), tally, f"hosts_{role}_{i:05d}", role, assessment_id,
                            person, typo=i % 10 == 3))
    return takers


def run_two_hosts(args) -> int:
    setup = prepare(args, args.takers)
    with tempfile.TemporaryDirectory(prefix="bench-two-hosts-") as tmp, \
            hosts_network(2, args.isolation) as hosts:
        workdir = Path(tmp)
        proxy = None
        try:
            for host in hosts:
                host.start(workdir, args.workers, setup.env)
            proxy = Proxy(workdir, hosts, args.workers)
            print(f"hosts: {', '.join(f'{h.name} {h.base} ({args.workers} sync workers)' for h in hosts)}; "
                  f"HAProxy on 127.0.0.1:{proxy.port} ({args.isolation})", flush=True)
            for line in check_sessions(hosts):
                print("  " + line, flush=True)
            tally = Tally()
            takers = make_takers(setup, tally, proxy.port, args.takers, 0, args.seed)
            threads = [threading.Thread(target=t.run, daemon=True) for t in takers]
            killed: dict = {}
            killer = threading.Thread(target=kill_when, args=(args, hosts[0], tally, killed, proxy), daemon=True)
            tally.started = time.perf_counter()
            killer.start()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=max(1.0, 900 - (time.perf_counter() - tally.started)))
            seconds = time.perf_counter() - tally.started
            stats = proxy.stats()
            found = check_database(setup.db, tally)
            report(args, tally, found, seconds, killed, stats, hosts)
            print("abnormal requests in the proxy's log (backend/server, status, termination state): "
                  + (", ".join(f"{k}: {n}" for k, n in sorted(proxy.abnormal().items())) or "none"))
            return 0 if found["lost"] == 0 and found["duplicated"] == 0 and tally.finished == args.takers else 1
        finally:
            if proxy is not None:
                proxy.stop()
            for host in hosts:
                host.stop()
            if not (args.keep_db or args.reuse_db):
                _pg(f'DROP DATABASE IF EXISTS "{setup.db}" WITH (FORCE)')


def kill_when(args, host: Host, tally: Tally, killed: dict, proxy: Proxy) -> None:
    if args.no_kill:
        return
    while tally.acknowledged < args.kill_after:
        time.sleep(0.01)
    killed["at"] = time.perf_counter() - tally.started
    killed["answers"] = tally.acknowledged
    killed["pids"] = host.kill()
    killed["host"] = host.name
    began = time.perf_counter()
    while proxy.stats().get(host.name, {}).get("status", "").startswith("UP"):
        time.sleep(0.05)
    killed["marked_down_after"] = time.perf_counter() - began


def report(args, tally: Tally, found: dict, seconds: float, killed: dict, stats: dict, hosts: list[Host]) -> None:
    lat = tally.answer_latency
    print()
    print(f"takers {args.takers} ({args.takers // 2 + args.takers % 2} teachers on TDL-2026, "
          f"{args.takers // 2} students on SDL-2026), 2 hosts x {args.workers} sync workers, {seconds:.1f} s")
    if killed:
        print(f"killed {killed['host']} (SIGKILL to master + workers, pids {killed['pids']}) at "
              f"{killed['at']:.1f} s after {killed['answers']} answers; the proxy marked it down "
              f"{killed['marked_down_after']:.1f} s later")
    print(f"answer requests sent (retries included) {tally.sent}")
    print(f"answers acknowledged {tally.acknowledged}; stored (rows) {found['stored']}; "
          f"lost {found['lost']}; duplicated {found['duplicated']}; "
          f"stored without the client knowing {found['stored_unacknowledged']}; stray {found['stray']}")
    print(f"answer latency as a taker waits (retries included): p50 {percentile(lat, 50):.0f} ms, "
          f"p95 {percentile(lat, 95):.0f} ms, p99 {percentile(lat, 99):.0f} ms, max {max(lat) * 1000:.0f} ms"
          if lat else "no answers")
    print(f"answers/s {tally.acknowledged / seconds:.0f}; takers finished {tally.finished} of {args.takers}; "
          f"attempts {dict(found['attempt_statuses'])}")
    print(f"login throttling: highest counters {found['login_counters']}; "
          f"429 responses: {sum(n for k, n in tally.errors.items() if ' 429' in k)}")
    for name, row in stats.items():
        if name.startswith("h"):
            print(f"proxy {name}: status {row['status']}, requests {row['stot']}, retries {row['wretr']}, "
                  f"redispatches {row['wredis']}, 5xx {row['hrsp_5xx']}")
    print("errors by kind:" + ("" if tally.errors else " none"))
    for kind, count in sorted(tally.errors.items()):
        print(f"  {kind}: {count}")
    for host in hosts:
        print(f"server tracebacks in {host.name}'s log: {host.tracebacks()}")


def run_trainer_check(args) -> int:
    """One host, 2 sync workers, takers finishing whole tests; a trainer reopening the results page in
    alternate slices (off, on, then on, off, ...), so both states see the same drift of a shared machine."""
    setup = prepare(args, args.accounts, args.cohort_size)
    cohort_id, _name, members, assignment_id = setup.info["cohort"]
    with tempfile.TemporaryDirectory(prefix="bench-two-hosts-") as tmp, \
            hosts_network(1, args.isolation) as hosts:
        workdir = Path(tmp)
        proxy = None
        try:
            hosts[0].start(workdir, 2, setup.env)
            proxy = Proxy(workdir, hosts, 2)
            page = f"/trainer/cohorts/{cohort_id}/assignments/{assignment_id}"
            counted = alternate(args, setup, proxy, page)
            print(f"\nlargest cohort: {members} members; 1 host x 2 sync workers; {args.concurrency} takers; "
                  f"{args.rounds} rounds of {args.slice:.0f} s per state")
            for state, r in counted.items():
                print(f"{state:>17}: {r['answers_per_s']:.1f} answers/s, {r['tests_per_min']:.1f} tests/min, "
                      f"answer p50 {r['p50']:.0f} ms, p95 {r['p95']:.0f} ms"
                      + (f"; results page opened {r['pages']} times, median {r['page_ms']:.0f} ms"
                         if r["pages"] else ""))
            base, loaded = counted["takers alone"], counted["with the trainer"]
            slower = 1 - loaded["answers_per_s"] / base["answers_per_s"]
            print(f"the trainer cut takers' answers/s by {slower * 100:.1f} % (goal <= 10 %); "
                  f"answer p50 {base['p50']:.0f} -> {loaded['p50']:.0f} ms; "
                  f"per-slice answers/s alone {counted['takers alone']['slices']}, "
                  f"with {counted['with the trainer']['slices']}")
            return 0
        finally:
            if proxy is not None:
                proxy.stop()
            hosts[0].stop()
            if not (args.keep_db or args.reuse_db):
                _pg(f'DROP DATABASE IF EXISTS "{setup.db}" WITH (FORCE)')


def alternate(args, setup: Setup, proxy: Proxy, page: str) -> dict:
    tally = Tally()
    takers = queue.Queue()
    # Students only: seed-scale gives TDL-2026 an audience of its cohorts, which the other teachers are not in.
    for taker in make_takers(setup, tally, proxy.port, args.accounts, 0, args.seed, students_only=True):
        taker.typo = False
        takers.put(taker)
    stop, trainer_on, trainer_idle = threading.Event(), threading.Event(), threading.Event()
    trainer_idle.set()
    pages: list[tuple[float, float]] = []  # (ended, seconds)

    def worker() -> None:
        client = Client("127.0.0.1", proxy.port)
        while not stop.is_set():
            try:
                taker = takers.get_nowait()
            except queue.Empty:
                tally.error("ran out of accounts")
                return
            taker.client = client
            taker.run()

    def trainer_loop() -> None:
        client = Client("127.0.0.1", proxy.port)
        jar = browser_login(client, "trainer", DEMO_PASSWORD)
        while not stop.is_set():
            if not trainer_on.wait(0.2):
                continue
            trainer_idle.clear()
            began = time.perf_counter()
            status, _data, error, _r = client.request("GET", page, None, {"Cookie": jar})
            if error == "RemoteDisconnected":  # the proxy closed the idle keep-alive connection
                status, _data, error, _r = client.request("GET", page, None, {"Cookie": jar})
            trainer_idle.set()
            if status == 200 and not error:
                pages.append((time.perf_counter(), time.perf_counter() - began))
            else:
                tally.error(f"results page: {error or status}")
            if args.trainer_pause:
                stop.wait(args.trainer_pause)  # reading the page before opening it again

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(args.concurrency)]
    threads.append(threading.Thread(target=trainer_loop, daemon=True))
    for thread in threads:
        thread.start()
    time.sleep(args.warmup)
    states = {"takers alone": False, "with the trainer": True}
    out = {name: {"seconds": 0.0, "answers": 0, "finished": 0, "lat": [], "pages": [], "slices": []}
           for name in states}
    for round_ in range(args.rounds):
        order = list(states) if round_ % 2 == 0 else list(reversed(states))
        for name in order:
            (trainer_on.set if states[name] else trainer_on.clear)()
            if not states[name]:
                trainer_idle.wait(120)  # the page in flight finishes before a slice without the trainer
            time.sleep(args.settle)
            with tally.lock:
                answers0, finished0, lat0 = tally.acknowledged, tally.finished, len(tally.answer_latency)
            began = time.perf_counter()
            time.sleep(args.slice)
            with tally.lock:
                answers1, finished1 = tally.acknowledged, tally.finished
                lat = tally.answer_latency[lat0:]
            ended = time.perf_counter()
            slot = out[name]
            slot["seconds"] += ended - began
            slot["answers"] += answers1 - answers0
            slot["finished"] += finished1 - finished0
            slot["lat"] += lat
            slot["pages"] += [sec for at, sec in pages if began <= at <= ended]
            slot["slices"].append(round((answers1 - answers0) / (ended - began), 1))
    trainer_on.clear()
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    if tally.errors:
        print(f"errors: {dict(tally.errors)}")
    return {
        name: {
            "answers_per_s": slot["answers"] / slot["seconds"],
            "tests_per_min": slot["finished"] / slot["seconds"] * 60,
            "p50": percentile(slot["lat"], 50),
            "p95": percentile(slot["lat"], 95),
            "pages": len(slot["pages"]),
            "page_ms": statistics.median(slot["pages"]) * 1000 if slot["pages"] else 0.0,
            "slices": slot["slices"],
        }
        for name, slot in out.items()
    }


def browser_login(client: Client, username: str, password: str) -> str:
    from urllib.parse import urlencode

    status, page, _e, response = client.request("GET", "/login")
    jar = dict(_cookies(response))
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    form = urlencode({"csrf_token": token, "username": username, "password": password})
    status, _d, _e, response = client.request(
        "POST", "/login", form, {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())}
    )
    if status != 302:
        raise RuntimeError(f"{username} could not log in: {status}")
    jar.update(_cookies(response))
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def _cookies(response):
    for header, value in response.getheaders():
        if header.lower() == "set-cookie":
            name, _, rest = value.partition("=")
            yield name, rest.split(";", 1)[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--takers", type=int, default=200, help="simulated people, each finishing one test")
    parser.add_argument("--workers", type=int, default=2, help="sync gunicorn workers per host")
    parser.add_argument("--kill-after", type=int, default=1000,
                        help="SIGKILL host 1 when this many answers have been acknowledged")
    parser.add_argument("--no-kill", action="store_true", help="leave both hosts running")
    parser.add_argument("--isolation", choices=("netns", "loopback"), default="netns",
                        help="hosts in network namespaces (root) or on 127.0.0.2 and 127.0.0.3")
    parser.add_argument("--db", default="test_23b_hosts", help="the PostgreSQL database to create and drop")
    parser.add_argument("--keep-db", action="store_true", help="keep the database at the end")
    parser.add_argument("--reuse-db", action="store_true",
                        help="use the database a --keep-db run left (its accounts have attempts left)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--trainer-check", action="store_true",
                        help="measure how much a trainer reopening the largest results page slows takers")
    parser.add_argument("--cohort-size", type=int, default=10_000, help="trainer check: largest cohort")
    parser.add_argument("--concurrency", type=int, default=50, help="trainer check: takers at once")
    parser.add_argument("--accounts", type=int, default=3000,
                        help="trainer check: accounts (half of them students, one test each)")
    parser.add_argument("--trainer-pause", type=float, default=0.0,
                        help="trainer check: seconds the trainer reads the page before reopening it")
    parser.add_argument("--rounds", type=int, default=6, help="trainer check: rounds of both states")
    parser.add_argument("--slice", type=float, default=10.0, help="trainer check: seconds counted per slice")
    parser.add_argument("--settle", type=float, default=2.0, help="trainer check: seconds before each slice")
    parser.add_argument("--warmup", type=float, default=5.0, help="trainer check: seconds before counting")
    parser.add_argument("--_setup", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._setup:
        _setup_child(*args._setup)
        return 0
    if args.isolation == "netns" and os.geteuid() != 0:
        parser.error("--isolation netns needs root; use --isolation loopback")
    return run_trainer_check(args) if args.trainer_check else run_two_hosts(args)


if __name__ == "__main__":
    sys.exit(main())
