"""Where a graded attempt's certificate and improvement plan are (the plan is built on first request)."""

from __future__ import annotations

from competency.models import Attempt


def outcome_links(attempt: Attempt) -> dict:
    from competency.services import certificates, plans

    certificate = certificates.certificate_for_attempt(attempt.id)
    plan = plans.ensure_for_attempt(attempt)
    return {
        "certificate_code": certificate.code if certificate is not None else None,
        "plan_id": plan.id if plan is not None else None,
    }
