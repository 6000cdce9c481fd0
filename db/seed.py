"""Load a dataset (districts, incidents, official totals) from CSV files into the store.

A dataset is a folder with ``districts.csv``, ``incidents.csv`` and ``official_totals.csv`` in the
format of the shipped Azerbaijani data (see ``db/seed/azerbaijan/README.md``). Another country's data
are served by pointing ``SEED_DIR`` at another folder. Loading is idempotent: rows already in the
store (same natural key) are skipped, so ``db seed`` can be run again safely.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db import migrate, totals
from db.domain.drafts import date_span
from db.domain.gazetteer import DistrictEntry, Gazetteer, normalize
from db.domain.records import DatePrecision, Device
from db.domain.validation import official_total_problems
from db.models import District, DistrictName, Incident, IncidentSource, IssuerName, OfficialTotal
from db.session import WRITE_LOCK, Database

COUNT_FIELDS = ("civilian_killed", "civilian_injured", "military_killed", "military_injured")
OFFICIAL_FIGURES = ("total", "killed", "injured", *COUNT_FIELDS)


class DatasetError(ValueError):
    """A row of a dataset file is malformed; the message names the file, the line and the field."""


@dataclass
class SeedReport:
    districts_added: int = 0
    incidents_added: int = 0
    incidents_present: int = 0
    totals_added: int = 0
    totals_present: int = 0
    warnings: list[str] = field(default_factory=list)


def _rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        for number, row in enumerate(reader, start=2):
            yield number, {k: (v or "").strip() for k, v in row.items() if k is not None}


def _int(value: str, where: str, *, nullable: bool) -> int | None:
    if value == "":
        if nullable:
            return None
        raise DatasetError(f"{where}: a whole number is required")
    if not value.isdigit():
        raise DatasetError(f"{where}: {value!r} is not a whole number ≥ 0")
    return int(value)


def _date(value: str, where: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise DatasetError(f"{where}: {value!r} is not a date YYYY-MM-DD") from None


def read_districts(path: Path) -> list[tuple[str, dict[str, str], list[str]]]:
    """(key, official names by language, aliases) for every row of ``districts.csv``."""
    out = []
    for line, row in _rows(path):
        key = row.get("key", "")
        if not key:
            raise DatasetError(f"{path.name}:{line}: key is empty")
        names = {
            col.removeprefix("name_"): value
            for col, value in row.items()
            if col.startswith("name_") and value
        }
        aliases = [a.strip() for a in row.get("aliases", "").split("|") if a.strip()]
        out.append((key, names, aliases))
    return out


async def _seed_issuers(session: AsyncSession, path: Path) -> None:
    """Names of the issuers of official totals by language (optional file; replaces older names)."""
    stored = {(n.issuer, n.lang): n for n in (await session.scalars(select(IssuerName))).all()}
    defaults = 0
    for line, row in _rows(path):
        issuer = row.get("issuer", "")
        if not issuer:
            raise DatasetError(f"{path.name}:{line}: issuer is empty")
        flag = row.get("default", "").lower()
        if flag not in ("", "true", "false"):
            raise DatasetError(f"{path.name}:{line}: default must be true or false")
        defaults += flag == "true"
        for column, value in row.items():
            if not column.startswith("name_") or not value:
                continue
            lang = column.removeprefix("name_")
            found = stored.get((issuer, lang))
            if found is None:
                found = IssuerName(issuer=issuer, lang=lang, name=value)
                session.add(found)
            found.name = value
            found.is_default = flag == "true"
    if defaults > 1:
        raise DatasetError(f"{path.name}: more than one issuer is marked default")


async def load_gazetteer(session: AsyncSession) -> Gazetteer:
    districts = (await session.scalars(select(District).order_by(District.id))).all()
    issuers: dict[str, dict[str, str]] = {}
    for name in (await session.scalars(select(IssuerName))).all():
        issuers.setdefault(name.issuer, {})[name.lang] = name.name
    return Gazetteer.build(
        DistrictEntry(
            id=d.id,
            key=d.key,
            names={n.lang: n.name for n in d.names if n.lang},
            aliases=tuple(n.name for n in d.names if n.lang is None),
        )
        for d in districts
    ).with_issuers(issuers)


async def _is_empty(session: AsyncSession) -> bool:
    districts = await session.scalar(select(func.count()).select_from(District))
    incidents = await session.scalar(select(func.count()).select_from(Incident))
    return not districts and not incidents


def check_dataset(directory: Path) -> None:
    """Raise DatasetError unless ``directory`` holds a dataset's three files."""
    for name in ("districts.csv", "incidents.csv", "official_totals.csv"):
        if not (directory / name).is_file():
            raise DatasetError(f"{directory / name}: file not found")


async def seed(db: Database, directory: Path) -> SeedReport:
    """Load the dataset in ``directory`` in one transaction; all or nothing. Rows already in the
    store are skipped; loaders of several processes, and admins' writes, take turns."""
    report = await _load(db, directory, only_if_empty=False)
    assert report is not None
    return report


async def seed_if_empty(db: Database, directory: Path) -> SeedReport | None:
    """Load the dataset into a store that has no districts and no incidents yet; None when it
    has (another process may have loaded it a moment ago)."""
    return await _load(db, directory, only_if_empty=True)


async def refresh_issuers(db: Database, directory: Path) -> None:
    """Names of the issuers and the default one from the dataset's ``issuers.csv`` (at every
    start: a store loaded by an older version gets them without a new ``db seed``)."""
    path = directory / "issuers.csv"
    if not path.is_file():
        return
    async with db.transaction() as session:
        await db.exclusive(session, WRITE_LOCK)
        await _seed_issuers(session, path)


@dataclass(frozen=True, slots=True)
class Prepared:
    """A store ready to serve: its gazetteer, and what was loaded into it if it was empty."""

    gazetteer: Gazetteer
    seeded: SeedReport | None


async def prepare(db: Database, directory: Path) -> Prepared:
    """The start of the bot and of ``python -m bot import``: apply the migrations, load the
    dataset in ``directory`` into an empty store (else refresh the issuers' names from it),
    and read the gazetteer."""
    await migrate.upgrade(db)
    seeded = await seed_if_empty(db, directory)
    if seeded is None:
        await refresh_issuers(db, directory)
    async with db.session() as session:
        gazetteer = await load_gazetteer(session)
    return Prepared(gazetteer, seeded)


async def _load(db: Database, directory: Path, *, only_if_empty: bool) -> SeedReport | None:
    check_dataset(directory)
    report = SeedReport()
    async with db.transaction() as session:
        await db.exclusive(session, WRITE_LOCK)
        if only_if_empty and not await _is_empty(session):
            return None
        await _seed_districts(session, directory / "districts.csv", report)
        gazetteer = await load_gazetteer(session)
        await _seed_incidents(session, directory / "incidents.csv", gazetteer, report)
        await _seed_totals(session, directory / "official_totals.csv", report)
        if (directory / "issuers.csv").is_file():
            await _seed_issuers(session, directory / "issuers.csv")
        if report.incidents_added:
            await session.flush()
            await totals.rebuild(session)
    return report


async def _seed_districts(session: AsyncSession, path: Path, report: SeedReport) -> None:
    existing = {d.key: d for d in (await session.scalars(select(District))).all()}
    for key, names, aliases in read_districts(path):
        district = existing.get(key)
        if district is None:
            district = District(key=key)
            session.add(district)
            report.districts_added += 1
        have = {(n.lang, n.name) for n in district.names}
        wanted: list[tuple[str | None, str]] = list(names.items())
        official = {normalize(name) for _, name in wanted}
        wanted += [(None, a) for a in aliases if normalize(a) not in official]
        for lang, name in wanted:
            if (lang, name) not in have:
                district.names.append(DistrictName(lang=lang, name=name))
                have.add((lang, name))
    await session.flush()


# One pass over the file: each row read, checked and added in turn, as the file orders them.
async def _seed_incidents(
    session: AsyncSession, path: Path, gazetteer: Gazetteer, report: SeedReport
) -> None:
    rows = await session.execute(
        select(
            Incident.date,
            Incident.district_id,
            Incident.civilian_killed,
            Incident.civilian_injured,
            Incident.military_killed,
            Incident.military_injured,
            IncidentSource.url,
        ).join(IncidentSource, IncidentSource.incident_id == Incident.id)
    )
    present = {tuple(r) for r in rows}
    for line, row in _rows(path):
        where = f"{path.name}:{line}"
        precision_text = row.get("date_precision") or "day"
        try:
            precision = DatePrecision(precision_text)
        except ValueError:
            raise DatasetError(f"{where}: date_precision {precision_text!r} is unknown") from None
        start, end = date_span(_date(row.get("date", ""), f"{where}: date"), precision)
        district_id = None
        if row.get("district"):
            district_id = gazetteer.resolve(row["district"])
            if district_id is None:
                raise DatasetError(f"{where}: district {row['district']!r} is not in districts.csv")
        counts = {
            name: _int(row.get(name, ""), f"{where}: {name}", nullable=False) or 0
            for name in COUNT_FIELDS
        }
        device_text = row.get("device") or "unknown"
        try:
            device = Device(device_text)
        except ValueError:
            raise DatasetError(f"{where}: device {device_text!r} is unknown") from None
        url = row.get("source_url", "")
        if not url.startswith(("http://", "https://")):
            raise DatasetError(f"{where}: source_url must be an http(s) URL")
        natural_key = (start, district_id, *counts.values(), url)
        if natural_key in present:
            report.incidents_present += 1
            continue
        present.add(natural_key)
        session.add(
            Incident(
                date=start,
                date_end=end,
                date_precision=precision,
                date_note=row.get("date_note") or None,
                district_id=district_id,
                settlement=row.get("settlement") or None,
                device=device,
                activity=row.get("activity") or None,
                description=row.get("description", ""),
                sources=[IncidentSource(url=url, title=row.get("source_title") or None)],
                **counts,
            )
        )
        report.incidents_added += 1


async def _seed_totals(session: AsyncSession, path: Path, report: SeedReport) -> None:
    present = {
        tuple(r)
        for r in await session.execute(
            select(OfficialTotal.as_of, OfficialTotal.issuer, OfficialTotal.source_url)
        )
    }
    for line, row in _rows(path):
        where = f"{path.name}:{line}"
        figures = {
            name: _int(row.get(name, ""), f"{where}: {name}", nullable=True)
            for name in OFFICIAL_FIGURES
        }
        if all(v is None for v in figures.values()):
            raise DatasetError(f"{where}: no figure is stated")
        problems = official_total_problems(figures)
        if problems:
            raise DatasetError(f"{where}: figures do not add up ({'; '.join(problems)})")
        as_of = _date(row.get("as_of", ""), f"{where}: as_of")
        published_on = None
        if row.get("published_on"):
            published_on = _date(row["published_on"], f"{where}: published_on")
            if published_on < as_of:
                raise DatasetError(f"{where}: published_on is before as_of")
        issuer = row.get("issuer", "")
        url = row.get("source_url", "")
        if not issuer or not url.startswith(("http://", "https://")):
            raise DatasetError(f"{where}: issuer and an http(s) source_url are required")
        if (as_of, issuer, url) in present:
            report.totals_present += 1
            continue
        present.add((as_of, issuer, url))
        assumed = row.get("period_start_assumed", "").lower()
        if assumed not in {"", "true", "false"}:
            raise DatasetError(f"{where}: period_start_assumed must be true or false")
        session.add(
            OfficialTotal(
                as_of=as_of,
                published_on=published_on,
                period_start=_date(row.get("period_start", ""), f"{where}: period_start"),
                period_start_assumed=assumed == "true",
                issuer=issuer,
                source_url=url,
                note=row.get("note") or None,
                **figures,
            )
        )
        report.totals_added += 1
