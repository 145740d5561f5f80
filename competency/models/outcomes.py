"""Outcomes of assessments: certificates, learning resources, improvement plans, cohort assignments."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from competency.models.accounts import Cohort, Institution, User
from competency.models.assessments import Assessment, Attempt
from competency.models.base import Base, UTCDateTime, utcnow


class CertificateLookupMiss(Base):
    """A public lookup of a certificate code that does not exist: the address and the time, nothing else.

    Kept in the database, like failed logins, so the limit on guessing codes holds across workers.
    """

    __tablename__ = "certificate_lookup_miss"

    id: Mapped[int] = mapped_column(primary_key=True)
    ip: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class RevocationCategory(enum.StrEnum):
    """Why a certificate was revoked, as the public may see it; the free-text reason stays internal."""

    ISSUED_IN_ERROR = "issued_in_error"  # 误发
    MISCONDUCT = "misconduct"  # 违规（如作弊）
    SUPERSEDED = "superseded"  # 已被新证书取代
    HOLDER_REQUEST = "holder_request"  # 持证人申请撤销
    OTHER = "other"  # 其他


class Certificate(Base):
    """A graded certificate; names and levels are copied at issue so later edits cannot change it."""

    __tablename__ = "certificate"
    __table_args__ = (
        CheckConstraint(
            "revoked_category IS NULL OR revoked_category IN ("
            + ", ".join(f"'{c.value}'" for c in RevocationCategory)
            + ")",
            name="revoked_category_valid",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id", ondelete="CASCADE"), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessment.id"), index=True)
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"), index=True)
    holder_name: Mapped[str] = mapped_column(String(120))
    institution_name: Mapped[str] = mapped_column(String(200), default="")
    assessment_title_zh: Mapped[str] = mapped_column(String(200))
    assessment_title_en: Mapped[str] = mapped_column(String(200))
    scale: Mapped[str] = mapped_column(String(16))
    overall_level: Mapped[str | None] = mapped_column(String(8))
    # [{"code", "name_zh", "name_en", "level"}] per dimension, in report order.
    levels: Mapped[list] = mapped_column(JSON, default=list)
    # The certified class of the overall level, its likely range and the test's simulated accuracy.
    certified: Mapped[dict | None] = mapped_column(JSON)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(String(500))  # internal: staff only
    revoked_category: Mapped[str | None] = mapped_column(String(32))  # public (RevocationCategory)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    holder: Mapped[User] = relationship(foreign_keys=[user_id])
    attempt: Mapped[Attempt] = relationship()
    assessment: Mapped[Assessment] = relationship()
    institution: Mapped[Institution | None] = relationship()


class Resource(Base):
    """A learning resource (micro-lecture, online course, training project, teaching case)."""

    __tablename__ = "resource"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    title_zh: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str] = mapped_column(String(300))
    summary_zh: Mapped[str] = mapped_column(Text, default="")
    summary_en: Mapped[str] = mapped_column(Text, default="")
    nodes: Mapped[list] = mapped_column(JSON, default=list)
    roles: Mapped[list] = mapped_column(JSON, default=list)
    levels: Mapped[list] = mapped_column(JSON, default=list)
    hours: Mapped[float] = mapped_column(Float, default=0)
    provider: Mapped[str] = mapped_column(String(200), default="")
    url: Mapped[str | None] = mapped_column(String(500))
    # The library: the seeded catalogue is demo content; trainers and institution admins add their own
    # (institution_id set), edit them and retire them (kept for the plans that link to them).
    demo: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    institution_id: Mapped[int | None] = mapped_column(
        ForeignKey("institution.id", ondelete="CASCADE"), index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    file: Mapped[ResourceFile | None] = relationship(
        back_populates="resource", cascade="all, delete-orphan", lazy="select"
    )


class ResourceFile(Base):
    """An uploaded file of a resource, in the database so every worker and host can serve it."""

    __tablename__ = "resource_file"

    resource_id: Mapped[int] = mapped_column(ForeignKey("resource.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    mimetype: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    resource: Mapped[Resource] = relationship(back_populates="file")


class PathTemplate(Base):
    """A staged learning path a trainer assigns to a layer; stages hold tasks with nodes and resources."""

    __tablename__ = "path_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    title_zh: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    audience: Mapped[str] = mapped_column(String(16))
    layer_levels: Mapped[list] = mapped_column(JSON, default=list)
    roles: Mapped[list] = mapped_column(JSON, default=list)
    stages: Mapped[list] = mapped_column(JSON, default=list)


class Plan(Base):
    """An improvement plan: from an attempt's gaps, or from a path template assigned to a cohort layer."""

    __tablename__ = "plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempt.id", ondelete="SET NULL"), unique=True)
    cohort_id: Mapped[int | None] = mapped_column(ForeignKey("cohort.id", ondelete="SET NULL"), index=True)
    template_code: Mapped[str | None] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(16))  # "attempt" | "template"
    title_zh: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str] = mapped_column(String(300))
    scale: Mapped[str] = mapped_column(String(16))
    # Target level per node the plan aims at, and the measured levels it started from.
    targets: Mapped[dict] = mapped_column(JSON, default=dict)
    measured: Mapped[dict] = mapped_column(JSON, default=dict)
    # [{"title_zh", "title_en"}] per stage; tasks refer to stages by index.
    stages: Mapped[list] = mapped_column(JSON, default=list)
    graph_version: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()
    attempt: Mapped[Attempt | None] = relationship()
    cohort: Mapped[Cohort | None] = relationship()
    tasks: Mapped[list[PlanTask]] = relationship(
        back_populates="plan",
        order_by="(PlanTask.stage, PlanTask.position)",
        cascade="all, delete-orphan",
    )


class PlanTask(Base):
    __tablename__ = "plan_task"
    __table_args__ = (UniqueConstraint("plan_id", "stage", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"), index=True)
    stage: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)
    nodes: Mapped[list] = mapped_column(JSON, default=list)
    title_zh: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str] = mapped_column(String(300))
    resources: Mapped[list] = mapped_column(JSON, default=list)  # resource codes
    hours: Mapped[float] = mapped_column(Float, default=0)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    plan: Mapped[Plan] = relationship(back_populates="tasks")


class CohortAssignment(Base):
    """An assessment assigned to a cohort for a window; a re-assessment names the assignment it repeats."""

    __tablename__ = "cohort_assignment"

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohort.id", ondelete="CASCADE"), index=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessment.id"), index=True)
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    baseline_id: Mapped[int | None] = mapped_column(ForeignKey("cohort_assignment.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    cohort: Mapped[Cohort] = relationship()
    assessment: Mapped[Assessment] = relationship()
    baseline: Mapped[CohortAssignment | None] = relationship(remote_side=[id])
