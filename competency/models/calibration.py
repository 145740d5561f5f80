"""Calibration runs of an assessment's items: settings, progress, findings and the admin's decisions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from competency.models.assessments import Assessment
from competency.models.base import Base, UTCDateTime, utcnow

# queued → running → review (findings ready) → publishing (a background job) → published; review →
# discarded; a crash or bad data → failed. A refused publication returns the run to review.
RUN_STATUSES = ("queued", "running", "review", "publishing", "published", "discarded", "failed")


class CalibrationRun(Base):
    __tablename__ = "calibration_run"
    __table_args__ = (CheckConstraint(f"status IN {RUN_STATUSES}", name="status_valid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessment.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    # model, mode, min_responses: what was asked for.
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int] = mapped_column(Integer, default=0)
    progress_message: Mapped[str] = mapped_column(String(200), default="")
    # Findings: per dimension (reliability, person fit, linking), per item (estimates, SEs, fit, drift,
    # DIF, exposure) and the latent correlation of a multidimensional assessment. Loaded when read.
    findings: Mapped[dict | None] = mapped_column(JSON, deferred=True)
    # item code → "approve" | "reject"; items without a decision are not published.
    decisions: Mapped[dict] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[int | None] = mapped_column(Integer)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    assessment: Mapped[Assessment] = relationship()
