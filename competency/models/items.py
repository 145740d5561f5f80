"""Items of the bank and their versioned IRT parameters."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from competency.models.base import Base, UTCDateTime, utcnow

ITEM_STATUSES = ("draft", "pilot", "operational", "retired")
ITEM_TYPES = ("single", "multiple", "truefalse", "ordered", "sequence")


class Item(Base):
    """One item. `content` holds the authored fields (stem, options, key, scores, explanation, media)
    exactly as competency.tests_bank's schema writes them; searchable facts are columns."""

    __tablename__ = "item"
    __table_args__ = (
        CheckConstraint(f"status IN {ITEM_STATUSES}", name="status_valid"),
        CheckConstraint(f"type IN {ITEM_TYPES}", name="type_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    bank: Mapped[str] = mapped_column(String(64), index=True)
    type: Mapped[str] = mapped_column(String(16))
    node: Mapped[str] = mapped_column(String(32), index=True)
    level: Mapped[str | None] = mapped_column(String(8))
    lang: Mapped[str] = mapped_column(String(16), default="zh-CN")
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    content: Mapped[dict] = mapped_column(JSON)
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    versions: Mapped[list[ItemParams]] = relationship(
        back_populates="item", order_by="ItemParams.version", cascade="all, delete-orphan"
    )


class ItemParams(Base):
    """One version of an item's IRT parameters; a change adds a row, old attempts keep theirs."""

    __tablename__ = "item_params"
    __table_args__ = (
        UniqueConstraint("item_id", "version"),
        CheckConstraint("a > 0", name="slope_positive"),
        CheckConstraint("c IS NULL OR (c >= 0 AND c < 0.5)", name="guessing_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    model: Mapped[str] = mapped_column(String(8))
    a: Mapped[float] = mapped_column(Float)
    b: Mapped[float | None] = mapped_column(Float)
    c: Mapped[float | None] = mapped_column(Float)
    thresholds: Mapped[list | None] = mapped_column(JSON)
    parameterisation: Mapped[str] = mapped_column(String(32), default="logistic-D1-irt")
    source: Mapped[str] = mapped_column(String(64), default="provisional")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    item: Mapped[Item] = relationship(back_populates="versions")

    def as_irt_dict(self) -> dict:
        return {
            "model": self.model,
            "a": self.a,
            "b": self.b,
            "c": self.c,
            "thresholds": self.thresholds,
            "parameterisation": self.parameterisation,
            "source": self.source,
            "version": self.version,
        }
