"""The pilot-centre programme: calls, applications (申报表), reviews, public notices, designations,
and the message centre / outbox that carry every status change to the applicant."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from competency.models.accounts import Institution, User
from competency.models.base import Base, UTCDateTime, utcnow


class PilotCall(Base):
    """A call for applications (批次): who may apply, what they must send, until when, and how it is judged."""

    __tablename__ = "pilot_call"
    __table_args__ = (
        CheckConstraint("quota >= 1", name="quota_positive"),
        CheckConstraint("weight_diagnosis >= 0 AND weight_diagnosis <= 100", name="weight_range"),
        CheckConstraint("closes_at > opens_at", name="window_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    eligible_types: Mapped[list] = mapped_column(JSON, default=list)
    industries: Mapped[list] = mapped_column(JSON, default=list)  # industry codes of the ten key industries
    required_fields: Mapped[list] = mapped_column(JSON, default=list)
    required_attachments: Mapped[list] = mapped_column(JSON, default=list)
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    quota: Mapped[int] = mapped_column(Integer)
    # [{code, name, max}] — a criterion's points; the maxima add up to 100.
    rubric: Mapped[list] = mapped_column(JSON, default=list)
    weight_diagnosis: Mapped[int] = mapped_column(Integer, default=40)  # percent; expert weight = 100 − this
    spread_threshold: Mapped[float] = mapped_column(Float, default=20.0)
    notice_starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notice_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    objection_procedure: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    applications: Mapped[list[PilotApplication]] = relationship(back_populates="call")


class PilotApplication(Base):
    """One institution's application to one call; `form` holds the 申报表 fields as entered."""

    __tablename__ = "pilot_application"
    __table_args__ = (
        UniqueConstraint("call_id", "institution_id"),
        CheckConstraint(
            "status IN ('draft', 'withdrawn', 'submitted', 'returned', 'rejected', 'screened', 'diagnosing', 'diagnosed', 'in_review', 'reviewed', 'selected', 'not_selected', 'objection_upheld', 'designated')",
            name="status_valid",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("pilot_call.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    status: Mapped[str] = mapped_column(String(32), default="draft", index=True)
    form: Mapped[dict] = mapped_column(JSON, default=dict)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # 初筛: {checklist: {item: bool}, decision, reasons, by, at}; fix_by while returned for completion.
    screening: Mapped[dict] = mapped_column(JSON, default=dict)
    fix_by: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # 评估诊断: the round asked for, then the summary it produced.
    diagnosis_round_id: Mapped[int | None] = mapped_column(Integer)
    diagnosis: Mapped[dict] = mapped_column(JSON, default=dict)
    diagnosis_score: Mapped[float | None] = mapped_column(Float)
    # 专家评审 aggregate (trimmed mean of expert totals) and the spread flag.
    expert_score: Mapped[float | None] = mapped_column(Float)
    spread: Mapped[float | None] = mapped_column(Float)
    spread_flag: Mapped[bool] = mapped_column(Boolean, default=False)
    panel_note: Mapped[str] = mapped_column(Text, default="")
    final_score: Mapped[float | None] = mapped_column(Float)
    rank: Mapped[int | None] = mapped_column(Integer)
    selection_reason: Mapped[str] = mapped_column(Text, default="")

    call: Mapped[PilotCall] = relationship(back_populates="applications")
    institution: Mapped[Institution] = relationship()
    attachments: Mapped[list[PilotAttachment]] = relationship(
        back_populates="application", order_by="PilotAttachment.id"
    )
    reviews: Mapped[list[PilotReview]] = relationship(back_populates="application", order_by="PilotReview.id")
    objections: Mapped[list[PilotObjection]] = relationship(
        back_populates="application", order_by="PilotObjection.id"
    )


class PilotAttachment(Base):
    """An uploaded file, checked by content and stored under the instance folder (never the web root)."""

    __tablename__ = "pilot_attachment"
    __table_args__ = (
        CheckConstraint("kind IN ('stamped_scan', 'supporting')", name="kind_valid"),
        CheckConstraint("file_type IN ('pdf', 'docx')", name="file_type_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("pilot_application.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # stamped_scan | supporting
    filename: Mapped[str] = mapped_column(String(200))
    file_type: Mapped[str] = mapped_column(String(8))  # pdf | docx
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_name: Mapped[str] = mapped_column(String(80), unique=True)
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    application: Mapped[PilotApplication] = relationship(back_populates="attachments")


class ExpertTie(Base):
    """A tie an expert declared with an institution (former employer, adviser, relative): a conflict of interest."""

    __tablename__ = "expert_tie"
    __table_args__ = (UniqueConstraint("expert_id", "institution_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id", ondelete="CASCADE"))
    note: Mapped[str] = mapped_column(String(300), default="")
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    institution: Mapped[Institution] = relationship()


class PilotReview(Base):
    """One expert's independent scoring of one application: points and a comment per rubric criterion."""

    __tablename__ = "pilot_review"
    __table_args__ = (UniqueConstraint("application_id", "expert_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("pilot_application.id"), index=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    scores: Mapped[dict] = mapped_column(JSON, default=dict)  # criterion code -> points
    comments: Mapped[dict] = mapped_column(JSON, default=dict)  # criterion code -> text
    total: Mapped[float | None] = mapped_column(Float)

    application: Mapped[PilotApplication] = relationship(back_populates="reviews")
    expert: Mapped[User] = relationship()


class PilotObjection(Base):
    """An objection raised during the publicity period (公示期), and how it was resolved."""

    __tablename__ = "pilot_objection"
    __table_args__ = (CheckConstraint("status IN ('open', 'upheld', 'dismissed')", name="status_valid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("pilot_application.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    contact: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | upheld | dismissed
    resolution: Mapped[str] = mapped_column(Text, default="")
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    application: Mapped[PilotApplication] = relationship(back_populates="objections")


class PilotDesignation(Base):
    """A designated pilot unit (试点单位): the public, verifiable record of a two-year pilot."""

    __tablename__ = "pilot_designation"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("pilot_application.id"), unique=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    # Snapshots, so the public record says what was designated even if the institution is renamed.
    institution_name: Mapped[str] = mapped_column(String(200))
    institution_type: Mapped[str] = mapped_column(String(32))
    industries: Mapped[list] = mapped_column(JSON, default=list)
    designated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoke_reason: Mapped[str] = mapped_column(Text, default="")

    application: Mapped[PilotApplication] = relationship()
    milestones: Mapped[list[PilotMilestone]] = relationship(
        back_populates="designation", order_by="PilotMilestone.due_at"
    )


class PilotMilestone(Base):
    """A dated step of the two-year pilot: a milestone, or the mid-term / final review with a re-diagnosis."""

    __tablename__ = "pilot_milestone"
    __table_args__ = (CheckConstraint("kind IN ('milestone', 'midterm', 'final')", name="kind_valid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    designation_id: Mapped[int] = mapped_column(ForeignKey("pilot_designation.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # milestone | midterm | final
    title: Mapped[str] = mapped_column(String(200))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text, default="")
    diagnosis_round_id: Mapped[int | None] = mapped_column(Integer)
    diagnosis: Mapped[dict] = mapped_column(JSON, default=dict)

    designation: Mapped[PilotDesignation] = relationship(back_populates="milestones")


class Message(Base):
    """The in-platform message centre: one notice to one person."""

    __tablename__ = "message"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutboxMail(Base):
    """E-mail written by the development sender instead of being sent; the platform admin reads it."""

    __tablename__ = "outbox_mail"

    id: Mapped[int] = mapped_column(primary_key=True)
    to_address: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
