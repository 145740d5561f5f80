"""Issue 17, Medium 5/6 and Low 7: login throttling per (name, address) with a higher per-address ceiling,
unknown names checked with the real hasher, and limits that hold under concurrency (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from competency.extensions import db
from competency.models import CertificateLookupMiss, LoginAttempt
from competency.services import accounts, certificates
from tests.app.conftest import PASSWORD, login
from tests.app.outcomes_factory import make_assessment, make_attempt

NAT = "203.0.113.50"


def _login(client, username: str, password: str, ip: str = NAT) -> int:
    return client.post(
        "/api/v1/auth/token",
        json={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": ip},
    ).status_code


def test_one_persons_mistakes_do_not_lock_others_behind_the_same_address(app, client, make_user):
    """The reported attack: five wrong passwords for one name locked every account behind the school's NAT."""
    make_user("student", "careless")
    make_user("student", "classmate")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert _login(client, "careless", "wrong-password-x") == 401
    assert _login(client, "careless", PASSWORD) == 429  # that name from that address is locked …
    assert _login(client, "classmate", PASSWORD) == 200  # … the classmate next to them is not
    assert _login(client, "careless", PASSWORD, ip="198.51.100.9") == 200  # nor the name from elsewhere


def test_per_address_ceiling_stops_one_machine_trying_many_names(app, client, make_user):
    app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"] = 12
    make_user("student", "target")
    statuses = [_login(client, f"guess{n}", "wrong-password-x") for n in range(12)]
    assert set(statuses) == {401}
    assert _login(client, "target", PASSWORD) == 429
    assert _login(client, "target", PASSWORD, ip="198.51.100.10") == 200


def test_successful_logins_do_not_use_up_the_address_ceiling(app, client, make_user):
    app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"] = 3
    for n in range(6):
        make_user("student", f"pupil{n}")
        assert _login(client, f"pupil{n}", PASSWORD) == 200


def test_unknown_names_are_checked_with_the_same_hasher(app, make_user, monkeypatch):
    """Timing: an unknown name must cost a real password check with the configured method."""
    user = make_user("teacher", "real")
    checked: list[str] = []
    original = accounts.password_matches

    def spy(stored_hash: str, password: str) -> bool:
        checked.append(stored_hash.split("$")[0])
        return original(stored_hash, password)

    monkeypatch.setattr(accounts, "password_matches", spy)
    accounts.authenticate("real", "wrong-password-x", "192.0.2.1")
    accounts.authenticate("nobody-at-all", "wrong-password-x", "192.0.2.1")
    assert len(checked) == 2 and checked[0] == checked[1] == user.password_hash.split("$")[0]
    assert checked[1] == app.config["PASSWORD_HASH_METHOD"]


def test_concurrent_guesses_check_no_more_than_the_limit(app, make_user, monkeypatch):
    """40 guesses at once for one name from one address: exactly LOGIN_MAX_FAILURES are checked."""
    make_user("teacher", "victim")
    limit = app.config["LOGIN_MAX_FAILURES"]
    checked = []
    lock = threading.Lock()
    original = accounts.password_matches

    def counting(stored_hash: str, password: str) -> bool:
        with lock:
            checked.append(password)
        return original(stored_hash, password)

    monkeypatch.setattr(accounts, "password_matches", counting)
    barrier = threading.Barrier(40)
    statuses: list[int] = []

    def guess(n: int) -> None:
        with app.app_context():
            own = app.test_client()
            barrier.wait()
            statuses.append(_login(own, "victim", f"guess-number-{n}"))
            db.session.remove()

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(statuses) == 40
    assert len(checked) == limit, (len(checked), sorted(statuses))
    assert sorted(statuses).count(401) == limit and statuses.count(429) == 40 - limit
    failures = db.session.scalar(
        select(func.count()).select_from(LoginAttempt).where(LoginAttempt.success.is_(False))
    )
    assert failures == limit


def test_concurrent_certificate_lookups_record_no_more_than_the_limit(app, make_user):
    holder = make_user("teacher", "holder")
    attempt = make_attempt(
        holder, make_assessment(), {"T1": "L3", "T2": "L3", "T3": "L3", "T4": "L3", "T5": "L3"}
    )
    certificates.issue_for_attempt(attempt)
    db.session.commit()
    limit = app.config["VERIFY_MAX_MISSES"]
    barrier = threading.Barrier(60)
    statuses: list[int] = []

    def lookup(n: int) -> None:
        with app.app_context():
            own = app.test_client()
            barrier.wait()
            response = own.get(f"/api/v1/certificates/ZZZZ{n:016d}", environ_base={"REMOTE_ADDR": NAT})
            statuses.append(response.status_code)
            db.session.remove()

    threads = [threading.Thread(target=lookup, args=(n,)) for n in range(60)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(statuses) == 60
    assert statuses.count(404) == limit and statuses.count(429) == 60 - limit
    assert db.session.scalar(select(func.count()).select_from(CertificateLookupMiss)) == limit


def test_html_login_is_throttled_the_same_way(app, client, make_user):
    make_user("teacher", "wang")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert login(client, "wang", "bad-password-x").status_code == 401
    assert login(client, "wang").status_code == 429
