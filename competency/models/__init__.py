"""SQLAlchemy 2 typed models. No business rules and no commits here: services own transactions."""

from competency.models.accounts import (
    ApiToken,
    AuditEvent,
    CareerStage,
    Cohort,
    CohortMembership,
    Institution,
    InstitutionType,
    LoginAttempt,
    Role,
    TeacherCategory,
    User,
)
from competency.models.base import Base, UTCDateTime, utcnow

__all__ = [
    "ApiToken",
    "AuditEvent",
    "Base",
    "CareerStage",
    "Cohort",
    "CohortMembership",
    "Institution",
    "InstitutionType",
    "LoginAttempt",
    "Role",
    "TeacherCategory",
    "User",
    "UTCDateTime",
    "utcnow",
]
