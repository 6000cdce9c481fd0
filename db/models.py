"""The incident store: typed SQLAlchemy 2 models.

Counts are whole numbers of people; an incident never names its victims. Dates carry their precision:
an incident known only to the month is stored with ``date`` = first day and ``date_end`` = last day of
that month, so that a period filter counts it only when the whole span lies inside the period.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
    Time,
    UniqueConstraint,
    false,
    func,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from db.domain.records import (
    ChangeKind,
    ChangeStatus,
    DatePrecision,
    Device,
    IncidentStatus,
    OutboxStatus,
    SubscriptionEnd,
)
from db.domain.schedule import Frequency


def as_utc(value: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; every timestamp here is stored in UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads it as a class attribute
        dt.datetime: DateTime(timezone=True),
        dt.date: Date(),
    }


def _enum(cls: type[enum.StrEnum], name: str) -> Enum:
    # Stored as plain strings with a CHECK constraint: readable in SQL and portable.
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [m.value for m in members],
    )


class District(Base):
    """A district of the gazetteer: a stable key and its names (official and aliases)."""

    __tablename__ = "districts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)

    names: Mapped[list[DistrictName]] = relationship(
        back_populates="district", cascade="all, delete-orphan", lazy="selectin"
    )


class DistrictName(Base):
    """One spelling of a district: official in a language (``lang`` set) or an alias (``lang`` NULL)."""

    __tablename__ = "district_names"
    __table_args__ = (UniqueConstraint("district_id", "lang", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id", ondelete="CASCADE"))
    lang: Mapped[str | None] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(128))

    district: Mapped[District] = relationship(back_populates="names")


class IssuerName(Base):
    """The name of an issuer of official totals in one language (from the dataset's issuers.csv)."""

    __tablename__ = "issuer_names"

    issuer: Mapped[str] = mapped_column(String(128), primary_key=True)
    lang: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(256))
    #: The issuer /official assumes when an admin names none (the dataset's ``default`` column).
    is_default: Mapped[bool] = mapped_column(default=False, server_default=false())


class Incident(Base):
    __tablename__ = "incidents"
    __table_args__ = (
        CheckConstraint("civilian_killed >= 0", name="civilian_killed_nonneg"),
        CheckConstraint("civilian_injured >= 0", name="civilian_injured_nonneg"),
        CheckConstraint("military_killed >= 0", name="military_killed_nonneg"),
        CheckConstraint("military_injured >= 0", name="military_injured_nonneg"),
        CheckConstraint("date_end >= date", name="date_span"),
        # Lists are latest first: (date_end, date, id) descending, within a status or a district.
        Index("ix_incidents_status_end", "status", "date_end", "date", "id"),
        Index(
            "ix_incidents_district_status_end", "district_id", "status", "date_end", "date", "id"
        ),
        # Exports are in date order, read in keyset batches.
        Index("ix_incidents_status_date", "status", "date", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    date: Mapped[dt.date]
    date_end: Mapped[dt.date]
    date_precision: Mapped[DatePrecision] = mapped_column(_enum(DatePrecision, "date_precision"))
    date_note: Mapped[str | None] = mapped_column(Text)
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"))
    settlement: Mapped[str | None] = mapped_column(String(200))
    civilian_killed: Mapped[int] = mapped_column(Integer, default=0)
    civilian_injured: Mapped[int] = mapped_column(Integer, default=0)
    military_killed: Mapped[int] = mapped_column(Integer, default=0)
    military_injured: Mapped[int] = mapped_column(Integer, default=0)
    device: Mapped[Device] = mapped_column(_enum(Device, "device"), default=Device.UNKNOWN)
    activity: Mapped[str | None] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[IncidentStatus] = mapped_column(
        _enum(IncidentStatus, "incident_status"), default=IncidentStatus.PUBLISHED
    )
    #: Telegram user id of whoever recorded it; NULL for the shipped dataset and shell imports.
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    updated_by: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    #: 1 when recorded, +1 with every change (edit, retraction, restoration): /history numbers
    #: versions with it, and a change reviewed later applies only to the version it was made on.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    district: Mapped[District | None] = relationship(lazy="raise")
    sources: Mapped[list[IncidentSource]] = relationship(
        back_populates="incident",
        cascade="all, delete-orphan",
        order_by="IncidentSource.id",
        lazy="raise",
    )


class IncidentSource(Base):
    __tablename__ = "incident_sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(String(2048))
    title: Mapped[str | None] = mapped_column(Text)

    incident: Mapped[Incident] = relationship(back_populates="sources")


class TotalsGrain(enum.StrEnum):
    #: One row per (district, exact date span) for spans inside one calendar month.
    SPAN = "D"
    #: One row per (district, exact date span) for the few spans that cross a month boundary.
    LONG = "L"
    #: One row per (district, calendar month): the SPAN rows of that month added up.
    MONTH = "M"


class IncidentTotal(Base):
    """Pre-aggregated figures of published incidents, kept in step with ``incidents`` in the same
    transaction as every write (see ``db.totals``), so that /stats reads a few hundred rows
    instead of every incident. ``district`` is 0 for incidents without a district."""

    __tablename__ = "incident_totals"
    __table_args__ = (
        # Ordered for the period scans (grain, then date); on SQLite the rows are stored in this
        # order (WITHOUT ROWID), so a scan reads the figures without a second lookup.
        PrimaryKeyConstraint("grain", "date", "date_end", "district"),
        Index("ix_incident_totals_grain_end", "grain", "date_end", "date"),
        Index("ix_incident_totals_grain_district_end", "grain", "district", "date_end"),
        {"sqlite_with_rowid": False},
    )

    grain: Mapped[str] = mapped_column(String(1))
    district: Mapped[int] = mapped_column(Integer)
    date: Mapped[dt.date]
    date_end: Mapped[dt.date]
    incidents: Mapped[int] = mapped_column(Integer, default=0)
    civilian_incidents: Mapped[int] = mapped_column(Integer, default=0)
    military_incidents: Mapped[int] = mapped_column(Integer, default=0)
    civilian_killed: Mapped[int] = mapped_column(Integer, default=0)
    civilian_injured: Mapped[int] = mapped_column(Integer, default=0)
    military_killed: Mapped[int] = mapped_column(Integer, default=0)
    military_injured: Mapped[int] = mapped_column(Integer, default=0)


class OfficialTotal(Base):
    """A dated cumulative figure published by an authority. Figures are as stated: NULL = not stated."""

    __tablename__ = "official_totals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The date the figures refer to (the end of the counted period where the source gives one).
    as_of: Mapped[dt.date] = mapped_column(index=True)
    #: The day the figures were made public, where it is later than ``as_of`` (else NULL).
    published_on: Mapped[dt.date | None]
    period_start: Mapped[dt.date]
    #: The source does not state where its count starts; ``period_start`` is an assumption.
    period_start_assumed: Mapped[bool] = mapped_column(default=False, server_default=false())
    total: Mapped[int | None] = mapped_column(Integer)
    killed: Mapped[int | None] = mapped_column(Integer)
    injured: Mapped[int | None] = mapped_column(Integer)
    civilian_killed: Mapped[int | None] = mapped_column(Integer)
    civilian_injured: Mapped[int | None] = mapped_column(Integer)
    military_killed: Mapped[int | None] = mapped_column(Integer)
    military_injured: Mapped[int | None] = mapped_column(Integer)
    issuer: Mapped[str] = mapped_column(String(128))
    source_url: Mapped[str] = mapped_column(String(2048))
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())


#: The tables every figure the bot shows is read from: a change to any of them, however it is
#: made (the bot, an import, an operator's SQL), moves ``DataVersion.version`` on (triggers of
#: migration 011), so that replies rendered from them can be kept until then.
FIGURE_TABLES = (
    "districts",
    "district_names",
    "issuer_names",
    "incidents",
    "incident_sources",
    "incident_totals",
    "official_totals",
)


class DataVersion(Base):
    """One row: how many times the tables of ``FIGURE_TABLES`` have changed."""

    __tablename__ = "data_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class Chat(Base):
    """Per-chat settings. A row exists only once a chat has chosen something."""

    __tablename__ = "chats"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    language: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())


class Editor(Base):
    """A user whom an owner (``ADMIN_IDS``) has allowed to add and correct incidents."""

    __tablename__ = "editors"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    added_by: Mapped[int | None] = mapped_column(BigInteger)
    added_at: Mapped[dt.datetime]


class Change(Base):
    """A change proposed by an editor, waiting for another admin's review (four eyes).

    Nothing of it counts in figures or lists until it is approved; ``payload`` holds what
    ``db.store.proposals`` applies then (a JSON object of plain values)."""

    __tablename__ = "changes"
    __table_args__ = (Index("ix_changes_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[ChangeKind] = mapped_column(_enum(ChangeKind, "change_kind"))
    status: Mapped[ChangeStatus] = mapped_column(
        _enum(ChangeStatus, "change_status"), default=ChangeStatus.PENDING
    )
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))
    #: The incident's version the change was made on (edits, retractions, restorations).
    base_version: Mapped[int | None] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)
    proposed_by: Mapped[int] = mapped_column(BigInteger)
    #: The language the proposer was answered in: the decision is told to them in it.
    language: Mapped[str | None] = mapped_column(String(8))
    proposed_at: Mapped[dt.datetime]
    decided_by: Mapped[int | None] = mapped_column(BigInteger)
    decided_at: Mapped[dt.datetime | None]


class AuditEntry(Base):
    """One change to the store: who, when, what it was before and after, and why.

    Written in the same transaction as the change it records; never updated or deleted. ``actor``
    is a Telegram user id, NULL for the shell (``python -m bot import``)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_incident", "incident_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime]
    actor: Mapped[int | None] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(32))
    incident_id: Mapped[int | None] = mapped_column(Integer)
    #: The incident's version after this change.
    version: Mapped[int | None] = mapped_column(Integer)
    official_id: Mapped[int | None] = mapped_column(Integer)
    change_id: Mapped[int | None] = mapped_column(Integer)
    #: The user an ``editor.add`` or ``editor.remove`` is about.
    subject_user: Mapped[int | None] = mapped_column(BigInteger)
    reason: Mapped[str | None] = mapped_column(Text)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))


class Subscription(Base):
    """A chat's digest: how often, when, about what, and where its schedule stands.

    One per chat. Due times are UTC; ``at`` is the local time of day in ``TIMEZONE``. The next
    digest covers what changed from ``period_start`` until it falls due."""

    __tablename__ = "subscriptions"
    __table_args__ = (Index("ix_subscriptions_active_due", "active", "next_due_at"),)

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    frequency: Mapped[Frequency] = mapped_column(_enum(Frequency, "frequency"))
    at: Mapped[dt.time] = mapped_column(Time())
    #: For weekly digests: 0 = Monday.
    weekday: Mapped[int] = mapped_column(Integer, default=0)
    #: The filters, by dimension key (``db.domain.dimensions.dump_filter``): ``{"districts":
    #: [3, 1], "category": "civilian"}``; ``{}`` for all incidents.
    filters: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: Send a digest that says "nothing new" rather than nothing.
    send_empty: Mapped[bool] = mapped_column(default=False, server_default=false())
    #: The language the chat was answered in when it subscribed: its digests come in it unless
    #: the chat chooses one with /language.
    language: Mapped[str | None] = mapped_column(String(8))
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    ended_reason: Mapped[SubscriptionEnd | None] = mapped_column(
        _enum(SubscriptionEnd, "subscription_end")
    )
    ended_at: Mapped[dt.datetime | None]
    #: Who set it up or last changed it (a Telegram user id).
    updated_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    period_start: Mapped[dt.datetime]
    next_due_at: Mapped[dt.datetime]


class OutboxMessage(Base):
    """One digest to deliver: one row per (chat, digest period), under a unique key, written in
    the transaction that decides the digest; senders claim rows (see ``db.outbox``)."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("chat_id", "period_end", name="uq_outbox_chat_period"),
        Index("ix_outbox_status_next", "status", "next_attempt_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    #: The end of the period the digest covers (its due time, or the moment of /digest_now).
    period_end: Mapped[dt.datetime]
    #: The messages to send, in order, as Telegram HTML (each under Telegram's limit).
    parts: Mapped[list[str]] = mapped_column(JSON)
    #: How many of ``parts`` were delivered (a retry resumes after them).
    parts_sent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: [incident id, version] of every incident the digest shows.
    shown: Mapped[list[list[int]]] = mapped_column(JSON)
    status: Mapped[OutboxStatus] = mapped_column(
        _enum(OutboxStatus, "outbox_status"), default=OutboxStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]
    sent_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class DigestItem(Base):
    """An incident a chat was sent in a digest, and the version it saw: a later correction or
    retraction of it goes to exactly the chats that were sent the old figure."""

    __tablename__ = "digest_items"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    sent_at: Mapped[dt.datetime]


class Draft(Base):
    """What an admin has begun and not finished, kept here (not in one process's memory) so that
    any webhook process, and a process started after a restart, goes on with it.

    ``kind`` says what it is (``db.store.drafts.DraftKind``): the guided /add of a chat and user
    (``token`` empty, ``data`` its question and the answers so far), or an incident waiting for
    "Save anyway" (``token`` the one in the button's callback data). Only ``user_id`` may use
    it. A draft past ``expires_at`` is never used; ``version`` moves on with every write, so that
    a write made on a version read earlier is refused."""

    __tablename__ = "drafts"
    __table_args__ = (
        PrimaryKeyConstraint("chat_id", "user_id", "kind", "token"),
        Index("ix_drafts_expires_at", "expires_at"),
        Index("ix_drafts_user_kind", "user_id", "kind", "created_at"),
    )

    chat_id: Mapped[int] = mapped_column(BigInteger, autoincrement=False)
    user_id: Mapped[int] = mapped_column(BigInteger, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(16))
    token: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
