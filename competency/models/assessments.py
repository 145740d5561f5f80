"""Assessments, attempts and responses."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from competency.bilingual import localized
from competency.models.base import Base, UTCDateTime, utcnow

ASSESSMENT_KINDS = ("teacher_graded", "student_literacy", "job_skill")
ASSESSMENT_STATUSES = ("draft", "published", "archived")
# "insufficient": closed with fewer answers than the assessment's minimum evidence: no level, no certificate.
ATTEMPT_STATUSES = ("started", "in_progress", "finished", "timed_out", "graded", "insufficient")
ACTIVE_STATUSES = ("started", "in_progress")


class Assessment(Base):
    __tablename__ = "assessment"
    __table_args__ = (
        CheckConstraint(f"kind IN {ASSESSMENT_KINDS}", name="kind_valid"),
        CheckConstraint(f"status IN {ASSESSMENT_STATUSES}", name="status_valid"),
        CheckConstraint("max_attempts >= 1", name="max_attempts_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    title_zh: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    description_zh: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(32))
    role_code: Mapped[str | None] = mapped_column(String(32))
    scale: Mapped[str] = mapped_column(String(16))
    # Dimension codes the result reports on, and the map nodes whose items make up the pool.
    dimensions: Mapped[list] = mapped_column(JSON)
    nodes: Mapped[list] = mapped_column(JSON)
    engine: Mapped[dict] = mapped_column(JSON)
    cut_scores: Mapped[dict] = mapped_column(JSON)
    grade_rule: Mapped[dict] = mapped_column(JSON)
    certificate_rule: Mapped[dict] = mapped_column(JSON, default=dict)
    time_limit_minutes: Mapped[int | None] = mapped_column(Integer)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    wait_hours: Mapped[float] = mapped_column(Float, default=0)
    opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    audience: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    # Frozen at publication: item codes with the parameter version each is scored with. Both long
    # documents load only when read (taking a test uses the per-process pool cache instead).
    pool: Mapped[list] = mapped_column(JSON, default=list, deferred=True)
    simulation: Mapped[dict | None] = mapped_column(JSON, deferred=True)
    graph_version: Mapped[str | None] = mapped_column(String(32))
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def title(self, locale: str) -> str:
        return localized(self, "title", locale == "en")


class Attempt(Base):
    """One sitting. The CAT state lives here, so any worker can continue it after any other."""

    __tablename__ = "attempt"
    __table_args__ = (
        CheckConstraint(f"status IN {ATTEMPT_STATUSES}", name="status_valid"),
        # One active attempt per person and assessment, enforced by the database itself.
        Index(
            "uq_attempt_one_active",
            "assessment_id",
            "user_id",
            unique=True,
            sqlite_where=text("status IN ('started', 'in_progress')"),
            postgresql_where=text("status IN ('started', 'in_progress')"),
        ),
        # A cohort's attempts in an assignment's window, each member's newest first.
        Index("ix_attempt_assessment_user_started", "assessment_id", "user_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessment.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="started")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Position the next answer must name (1-based); the pending item is the one shown at it.
    position: Mapped[int] = mapped_column(Integer, default=1)
    pending_item: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[dict] = mapped_column(JSON)
    engine: Mapped[dict] = mapped_column(JSON)
    param_versions: Mapped[dict] = mapped_column(JSON)
    graph_version: Mapped[str | None] = mapped_column(String(32))
    stop_reason: Mapped[str | None] = mapped_column(String(32))
    result: Mapped[dict | None] = mapped_column(JSON)
    overall_level: Mapped[str | None] = mapped_column(String(8))
    # The position is the optimistic-lock version: every UPDATE checks it, so a concurrent writer that
    # read an older position changes nothing (StaleDataError). The service sets the new value.
    __mapper_args__ = {"version_id_col": position, "version_id_generator": False}

    assessment: Mapped[Assessment] = relationship()
    responses: Mapped[list[Response]] = relationship(
        back_populates="attempt", order_by="Response.position", cascade="all, delete-orphan"
    )


class Response(Base):
    __tablename__ = "response"
    __table_args__ = (UniqueConstraint("attempt_id", "position"), UniqueConstraint("attempt_id", "item_code"))

    id: Mapped[int] = mapped_column(primary_key=True)
    # No index of its own: the unique (attempt_id, position) index serves every lookup by attempt, and
    # one index fewer is less work on every answer stored.
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    # Exposure (how often an item was administered) is counted from here; no counter row is locked.
    item_code: Mapped[str] = mapped_column(String(64), index=True)
    param_version: Mapped[int] = mapped_column(Integer)
    answer: Mapped[dict] = mapped_column(JSON)
    score: Mapped[int] = mapped_column(Integer)
    pilot: Mapped[bool] = mapped_column(default=False)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    attempt: Mapped[Attempt] = relationship(back_populates="responses")


class ExposureTally(Base):
    """How far an assessment's exposure counters have counted: response and attempt ids up to which
    every row is included, and the attempts counted. Refreshed in small increments (services/exposure)."""

    __tablename__ = "exposure_tally"

    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("assessment.id", ondelete="CASCADE"), primary_key=True
    )
    response_mark: Mapped[int] = mapped_column(Integer, default=0)
    attempt_mark: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ItemExposure(Base):
    """Running count of how often an item was administered in an assessment (the maximum-rate rule)."""

    __tablename__ = "item_exposure"

    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("assessment.id", ondelete="CASCADE"), primary_key=True
    )
    item_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    administered: Mapped[int] = mapped_column(Integer, default=0)


class ResultLevel(Base):
    """One level of a graded result, in rows: overall ("o"), per dimension ("d") and per indicator ("i").

    Written in the transaction that grades the attempt (services/result_levels), so cohort summaries
    count levels with GROUP BY over short columns instead of parsing every result's JSON.
    """

    __tablename__ = "result_level"

    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(1), primary_key=True)
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    level: Mapped[str | None] = mapped_column(String(8))
