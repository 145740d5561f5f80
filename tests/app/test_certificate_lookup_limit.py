"""The public certificate check limits guessing: too many unknown codes from one address → 429.

Only misses count; while an address is over the limit every lookup from it is refused (a hit too),
other addresses are not affected, and the limit lifts when the misses age out of the window.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from competency.extensions import db
from competency.models import CertificateLookupMiss
from competency.services import certificates
from tests.app.outcomes_factory import make_assessment, make_attempt

LIMIT = 20  # VERIFY_MAX_MISSES


@pytest.fixture
def code(app, make_user):
    holder = make_user("teacher", "li", display_name="李明")
    attempt = make_attempt(
        holder, make_assessment(), {"T1": "L3", "T2": "L4", "T3": "L3", "T4": "L5", "T5": "L2"}
    )
    cert = certificates.issue_for_attempt(attempt)
    db.session.commit()
    return cert.code


def _api(client, code: str, ip: str = "203.0.113.7"):
    return client.get(f"/api/v1/certificates/{code}", environ_base={"REMOTE_ADDR": ip})


def _misses() -> int:
    return db.session.scalar(select(func.count()).select_from(CertificateLookupMiss))


def test_api_refuses_an_address_after_too_many_unknown_codes(client, code):
    for n in range(LIMIT):
        assert _api(client, f"ZZZZ{n:016d}").status_code == 404
    for _ in range(30):  # genuine certificates can be checked any number of times: hits never count
        assert _api(client, code, ip="198.51.100.1").status_code == 200
    refused = _api(client, "ZZZZ0000000000009999")
    assert refused.status_code == 429
    error = refused.get_json()["error"]
    assert error["code"] == "too_many_lookups" and error["field"] == "code" and "10" in error["message"]
    assert _api(client, code).status_code == 429  # a hit from that address is refused too
    assert _api(client, code, ip="198.51.100.2").status_code == 200  # other addresses are not
    assert _misses() == LIMIT  # refused lookups are not recorded


def test_the_limit_lifts_when_the_misses_age_out(app, client, code):
    for n in range(LIMIT):
        _api(client, f"ZZZZ{n:016d}")
    assert _api(client, code).status_code == 429
    window = app.config["VERIFY_WINDOW_SECONDS"]
    for miss in db.session.scalars(select(CertificateLookupMiss)):
        miss.at -= timedelta(seconds=window + 1)
    db.session.commit()
    assert _api(client, code).status_code == 200
    assert _api(client, "ZZZZ0000000000000000").status_code == 404
    assert _misses() == 1  # the aged-out misses were dropped when the new one was recorded


def test_verification_page_shows_the_limit(client, code):
    for n in range(LIMIT):
        page = client.get(f"/verify/ZZZZ{n:016d}", environ_base={"REMOTE_ADDR": "203.0.113.9"})
        assert page.status_code == 404
    page = client.get(f"/verify/{code}", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert page.status_code == 429
    html = page.get_data(as_text=True)
    assert "李明" not in html
    assert "过多" in html and "10" in html  # the message in Chinese, the default language
