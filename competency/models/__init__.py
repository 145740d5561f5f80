"""SQLAlchemy 2 typed models. No business rules and no commits here: services own transactions."""

from competency.models.accounts import (
    PLATFORM_WIDE_ROLES,
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
from competency.models.assessments import (
    ACTIVE_STATUSES,
    Assessment,
    Attempt,
    ExposureTally,
    ItemExposure,
    Response,
)
from competency.models.base import Base, UTCDateTime, utcnow
from competency.models.items import Item, ItemParams
from competency.models.outcomes import (
    Certificate,
    CertificateLookupMiss,
    CohortAssignment,
    PathTemplate,
    Plan,
    PlanTask,
    Resource,
)

__all__ = [
    "Certificate",
    "CertificateLookupMiss",
    "CohortAssignment",
    "PathTemplate",
    "Plan",
    "PlanTask",
    "Resource",
    "ACTIVE_STATUSES",
    "Assessment",
    "Attempt",
    "ExposureTally",
    "ItemExposure",
    "Item",
    "ItemParams",
    "Response",
    "ApiToken",
    "AuditEvent",
    "Base",
    "CareerStage",
    "Cohort",
    "CohortMembership",
    "Institution",
    "InstitutionType",
    "LoginAttempt",
    "PLATFORM_WIDE_ROLES",
    "Role",
    "TeacherCategory",
    "User",
    "UTCDateTime",
    "utcnow",
]
