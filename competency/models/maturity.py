"""Institution digital-maturity diagnosis: rounds, anonymous respondents, evidence, expert ratings, actions."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from competency.models.accounts import Cohort, Institution, User
from competency.models.base import Base, UTCDateTime, utcnow

ROUND_STATUSES = ("open", "closed")
RESPONDENT_GROUPS = ("leader", "teacher", "student", "mentor")
INVITATION_KINDS = ("link", "cohort")
REVIEW_STATUSES = ("pending", "accepted", "rejected")
ACTION_STATUSES = ("planned", "in_progress", "done", "dropped")


def _in(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    return CheckConstraint(f"{column} IN ({', '.join(repr(v) for v in values)})", name=name)


class MaturityRound(Base):
    """One diagnosis of one institution (诊断轮次). The result is computed and frozen when it closes."""

    __tablename__ = "maturity_round"
    __table_args__ = (_in("status", ROUND_STATUSES, "status_valid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    model_version: Mapped[str] = mapped_column(String(32))
    # Snapshot of what the round is judged against: the type's variant and the scenarios it runs.
    institution_type: Mapped[str] = mapped_column(String(32))
    scenarios: Mapped[list] = mapped_column(JSON, default=list)
    weights: Mapped[dict] = mapped_column(JSON, default=dict)
    previous_round_id: Mapped[int | None] = mapped_column(ForeignKey("maturity_round.id"))
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result: Mapped[dict | None] = mapped_column(JSON)
    # Demo content is synthetic and says so on every page that shows it.
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)

    institution: Mapped[Institution] = relationship()
    previous_round: Mapped[MaturityRound | None] = relationship(remote_side=[id])
    invitations: Mapped[list[MaturityInvitation]] = relationship(
        back_populates="round", cascade="all, delete-orphan", order_by="MaturityInvitation.id"
    )


class MaturityInvitation(Base):
    """An invitation of one respondent group: an open link (anyone holding it may answer once per visit),
    or a cohort, whose members each get one ticket on their home page."""

    __tablename__ = "maturity_invitation"
    __table_args__ = (
        _in("respondent_group", RESPONDENT_GROUPS, "group_valid"),
        _in("kind", INVITATION_KINDS, "kind_valid"),
        CheckConstraint("expected >= 0", name="expected_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("maturity_round.id", ondelete="CASCADE"), index=True)
    respondent_group: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(200), default="")
    # The link's token is meant to be passed around (like a SELFIE link), so it is kept to show again.
    token: Mapped[str | None] = mapped_column(String(64), unique=True)
    cohort_id: Mapped[int | None] = mapped_column(ForeignKey("cohort.id", ondelete="SET NULL"))
    expected: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    round: Mapped[MaturityRound] = relationship(back_populates="invitations")
    cohort: Mapped[Cohort | None] = relationship()


class MaturityTicket(Base):
    """A cohort member's one chance to answer. It records only *that* the person started, never which
    questionnaire is theirs: the respondent row carries no user and no time."""

    __tablename__ = "maturity_ticket"

    invitation_id: Mapped[int] = mapped_column(
        ForeignKey("maturity_invitation.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    used: Mapped[bool] = mapped_column(Boolean, default=False)

    invitation: Mapped[MaturityInvitation] = relationship()


class MaturityRespondent(Base):
    """One anonymous questionnaire: its group and answers, reached only through its own token (kept as a
    SHA-256 digest). Answers: indicator code → 1..5, 'na' (不适用) or 'decline' (不愿回答)."""

    __tablename__ = "maturity_respondent"
    __table_args__ = (_in("respondent_group", RESPONDENT_GROUPS, "group_valid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("maturity_round.id", ondelete="CASCADE"), index=True)
    invitation_id: Mapped[int | None] = mapped_column(
        ForeignKey("maturity_invitation.id", ondelete="SET NULL"), index=True
    )
    respondent_group: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    submitted: Mapped[bool] = mapped_column(Boolean, default=False, index=True)


class MaturityEvidence(Base):
    """An objective indicator's value entered by the institution, with an optional proof file stored
    outside the web root, and the expert review of it."""

    __tablename__ = "maturity_evidence"
    __table_args__ = (
        UniqueConstraint("round_id", "indicator"),
        _in("review_status", REVIEW_STATUSES, "review_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("maturity_round.id", ondelete="CASCADE"), index=True)
    indicator: Mapped[str] = mapped_column(String(32))
    value: Mapped[float] = mapped_column(Float)
    raw: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
    attachment_name: Mapped[str | None] = mapped_column(String(200))
    attachment_key: Mapped[str | None] = mapped_column(String(120))
    attachment_type: Mapped[str | None] = mapped_column(String(100))
    attachment_size: Mapped[int | None] = mapped_column(Integer)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    review_status: Mapped[str] = mapped_column(String(16), default="pending")
    review_comment: Mapped[str] = mapped_column(Text, default="")
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))


class MaturityExpertAssignment(Base):
    __tablename__ = "maturity_expert_assignment"

    round_id: Mapped[int] = mapped_column(
        ForeignKey("maturity_round.id", ondelete="CASCADE"), primary_key=True
    )
    expert_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    round: Mapped[MaturityRound] = relationship()
    expert: Mapped[User] = relationship(foreign_keys=[expert_id])


class MaturityRating(Base):
    """One expert's level for one indicator, with the reason."""

    __tablename__ = "maturity_rating"
    __table_args__ = (
        UniqueConstraint("round_id", "expert_id", "indicator"),
        CheckConstraint("level >= 1 AND level <= 5", name="level_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("maturity_round.id", ondelete="CASCADE"), index=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    indicator: Mapped[str] = mapped_column(String(32))
    level: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    rated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MaturityConsensus(Base):
    """The level the experts agreed on for an indicator they rated more than one level apart."""

    __tablename__ = "maturity_consensus"
    __table_args__ = (CheckConstraint("level >= 1 AND level <= 5", name="level_range"),)

    round_id: Mapped[int] = mapped_column(
        ForeignKey("maturity_round.id", ondelete="CASCADE"), primary_key=True
    )
    indicator: Mapped[str] = mapped_column(String(32), primary_key=True)
    level: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MaturityAction(Base):
    """An improvement action (整改/提升措施) taken from a recommendation. It belongs to the institution, so it
    carries over from one diagnosis round to the next."""

    __tablename__ = "maturity_action"
    __table_args__ = (
        _in("status", ACTION_STATUSES, "status_valid"),
        CheckConstraint("target_level >= 1 AND target_level <= 5", name="target_level_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    round_id: Mapped[int | None] = mapped_column(ForeignKey("maturity_round.id", ondelete="SET NULL"))
    indicator: Mapped[str] = mapped_column(String(32))
    target_level: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    owner: Mapped[str] = mapped_column(String(120))
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="planned")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
