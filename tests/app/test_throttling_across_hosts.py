"""Issue 23 (horizontal scale): login throttling must not lock out people whose logins are merely in flight.

With several app hosts and workers, many logins from one address (a school behind one NAT) are checked
at the same moment, and a host that dies mid-login never finishes its own. Counting every attempt
against the per-address ceiling before the check and taking successes back afterwards held those in
flight against the address: correct passwords were refused with 429 once enough were in flight.
"""

from __future__ import annotations

import threading

from competency.extensions import db
from competency.services import accounts
from tests.app.conftest import PASSWORD

NAT = "203.0.113.77"


def _login(client, username: str, password: str) -> int:
    return client.post(
        "/api/v1/auth/token",
        json={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": NAT},
    ).status_code


def test_logins_in_flight_on_other_workers_do_not_fill_the_address_ceiling(app, make_user, monkeypatch):
    ceiling = 3
    app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"] = ceiling
    for n in range(ceiling + 1):
        make_user("student", f"pupil{n}")
    inside, release = threading.Semaphore(0), threading.Event()
    original = accounts.password_matches

    def slow_check(stored_hash: str, password: str) -> bool:
        if threading.current_thread() is not threading.main_thread():
            inside.release()  # this login is now between its count and its check, like one on another host
            release.wait(timeout=60)
        return original(stored_hash, password)

    monkeypatch.setattr(accounts, "password_matches", slow_check)
    statuses: list[int] = []

    def log_in(n: int) -> None:
        with app.app_context():
            statuses.append(_login(app.test_client(), f"pupil{n}", PASSWORD))
            db.session.remove()

    threads = [threading.Thread(target=log_in, args=(n,)) for n in range(ceiling)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(ceiling):
            assert inside.acquire(timeout=60)
        # `ceiling` classmates are mid-login from the same address; one more with the right password:
        assert _login(app.test_client(), f"pupil{ceiling}", PASSWORD) == 200
    finally:
        release.set()
        for thread in threads:
            thread.join(timeout=60)
    assert statuses == [200] * ceiling


def test_failures_still_fill_the_address_ceiling(app, client, make_user):
    app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"] = 4
    make_user("student", "pupil")
    assert [_login(client, f"guess{n}", "wrong-password-x") for n in range(4)] == [401] * 4
    assert _login(client, "pupil", PASSWORD) == 429
