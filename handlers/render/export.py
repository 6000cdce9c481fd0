"""/export's document: the CSV file (columns, rows), its name and its caption.

The file is UTF-8 with a byte-order mark (Excel then reads Azerbaijani and Russian text right;
Python's ``utf-8-sig`` and pandas skip it), comma-separated, RFC 4180 quoting, ``\\r\\n`` line
ends; one row per published incident, ordered by date then id. Headers are stable English keys
(:data:`COLUMNS`), the same in every language; only ``district_name`` is in the chat's language.

- ``id``: the incident's number in this store (as /incidents and /history show it).
- ``date``, ``date_end``: ISO dates; the span the incident is known to lie in (equal when known to
  the day). ``date_precision``: ``day``, ``month`` or ``year``. ``date_note``: a caveat on the date.
- ``district_key``: the district's stable key (``kalbajar``; empty where the source names none);
  ``district_name``: its name in the chat's language.
- ``settlement``: village, town or locality as the source names it.
- ``civilian_killed``, ``civilian_injured``, ``military_killed``, ``military_injured``; ``killed``,
  ``injured`` and ``total`` add them up. With a category filter the other category's counts are 0,
  as /stats counts them, so that the columns add up to /stats' figures.
- ``device``: ``antipersonnel``, ``antivehicle``, ``improvised``, ``uxo`` or ``unknown``;
  ``activity``: what the victims were doing (``demining``, ``farming`` …) or empty.
- ``description``: one neutral sentence, as recorded.
- ``source_urls``: the incident's sources in the order recorded, separated by `` | `` (a URL never
  holds a space). ``source_titles``: their headlines in the same order, separated the same way,
  an empty entry where none is recorded; a ``|`` inside a headline is written ``¦`` so that the
  two columns always split into as many entries.
- ``version``: 1 when recorded, +1 with every correction.
- ``recorded_at``, ``updated_at``: when the incident was recorded here and last changed, ISO 8601
  in UTC (``2024-05-01T08:30:00Z``).

Not exported: who recorded or corrected an incident (admins' Telegram ids) and its status (only
published incidents are in the file).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import tempfile
from collections.abc import Sequence
from types import TracebackType
from typing import IO

from babel.units import format_unit

from db.domain.dimensions import REGISTRY
from db.domain.figures import Counts
from db.domain.filters import IncidentFilter
from db.domain.gazetteer import Gazetteer
from db.domain.listing import ExportRow
from handlers.render import (
    bold,
    escape,
    filters_text,
    visible_length,
)
from locales.i18n import Translator

#: Telegram's limit for a caption after entity parsing.
MAX_CAPTION = 1024
#: A document's content stays in memory up to this size, then goes to a temporary file.
SPOOL_BYTES = 1024 * 1024
SOURCE_SEPARATOR = " | "

COLUMNS = (
    "id",
    "date",
    "date_end",
    "date_precision",
    "date_note",
    "district_key",
    "district_name",
    "settlement",
    "civilian_killed",
    "civilian_injured",
    "military_killed",
    "military_injured",
    "killed",
    "injured",
    "total",
    "device",
    "activity",
    "description",
    "source_urls",
    "source_titles",
    "version",
    "recorded_at",
    "updated_at",
)


def utc_stamp(value: dt.datetime) -> str:
    """ISO 8601 in UTC to the second: ``2024-05-01T08:30:00Z``."""
    return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def row_values(row: ExportRow, gazetteer: Gazetteer, lang: str) -> list[str | int]:
    """One incident's cells, in the order of :data:`COLUMNS`."""
    c = row.counts
    district = row.district_id
    return [
        row.id,
        row.date.isoformat(),
        row.date_end.isoformat(),
        row.date_precision.value,
        row.date_note or "",
        gazetteer.key(district) if district is not None else "",
        gazetteer.name(district, lang) if district is not None else "",
        row.settlement or "",
        c.civilian_killed,
        c.civilian_injured,
        c.military_killed,
        c.military_injured,
        c.killed,
        c.injured,
        c.total,
        row.device.value,
        row.activity or "",
        row.description,
        SOURCE_SEPARATOR.join(s.url for s in row.sources),
        SOURCE_SEPARATOR.join((s.title or "").replace("|", "¦") for s in row.sources),
        row.version,
        utc_stamp(row.recorded_at),
        utc_stamp(row.updated_at),
    ]


class CsvDocument:
    """The file being written, a batch at a time: in memory up to ``spool_bytes``, then in a
    temporary file, so a large export does not sit in RAM. Counts what it holds. Use it as a
    context manager (the temporary file is removed on leaving)."""

    def __init__(self, gazetteer: Gazetteer, lang: str, *, spool_bytes: int | None = None) -> None:
        self._gazetteer = gazetteer
        self._lang = lang
        self._spool_bytes = spool_bytes = SPOOL_BYTES if spool_bytes is None else spool_bytes
        # Closed by close() (the context manager's exit).
        self._file: IO[bytes] = tempfile.SpooledTemporaryFile(  # noqa: SIM115
            max_size=spool_bytes, mode="w+b"
        )
        self.incidents = 0
        self._sums = [0, 0, 0, 0]
        self._file.write(codecs.BOM_UTF8)
        self._write([COLUMNS])

    def _write(self, rows: Sequence[Sequence[str | int]]) -> None:
        text = io.StringIO()
        csv.writer(text).writerows(rows)
        self._file.write(text.getvalue().encode("utf-8"))

    def write(self, rows: Sequence[ExportRow]) -> None:
        """Append rows (blocking: run it in a worker thread)."""
        self._write([row_values(row, self._gazetteer, self._lang) for row in rows])
        for row in rows:
            c = row.counts
            for i, n in enumerate(
                (c.civilian_killed, c.civilian_injured, c.military_killed, c.military_injured)
            ):
                self._sums[i] += n
        self.incidents += len(rows)

    @property
    def counts(self) -> Counts:
        return Counts(*self._sums)

    @property
    def size(self) -> int:
        """Bytes written so far."""
        return self._file.tell()

    def content(self) -> bytes | IO[bytes]:
        """What to upload: the bytes of a file kept in memory, else the temporary file, rewound
        (read while uploading, never whole into memory)."""
        size = self.size
        self._file.seek(0)
        return self._file.read() if size <= self._spool_bytes else self._file

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> CsvDocument:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# -- the file name -------------------------------------------------------------------------------


def file_name(gazetteer: Gazetteer, f: IncidentFilter, at: dt.datetime) -> str:
    """ASCII only: the query and the time of the export (UTC), e.g.
    ``casualties_fuzuli_2023_civilian_20261127-2142Z.csv``; ``casualties_all_…`` unfiltered."""
    parts = [slug for d in REGISTRY if (slug := d.slug(d.get(f), gazetteer))]
    stamp = at.astimezone(dt.UTC).strftime("%Y%m%d-%H%MZ")
    return "_".join(["casualties", *(parts or ["all"]), stamp]) + ".csv"


# -- messages ------------------------------------------------------------------------------------


def render_export_caption(
    t: Translator,
    gazetteer: Gazetteer,
    f: IncidentFilter,
    incidents: int,
    counts: Counts,
    at: dt.datetime,
) -> str:
    """HTML under Telegram's caption limit: the filters, how many incidents and people, when,
    and where the figures come from."""
    filters = escape(filters_text(t, gazetteer, f))
    figures = escape(
        t.ngettext("{n} incident recorded", "{n} incidents recorded", incidents).format(
            n=t.number(incidents)
        )
        + "; "
        + t.ngettext(
            "{n} person killed or injured", "{n} people killed or injured", counts.total
        ).format(n=t.number(counts.total))
    )
    when = escape(t._("Exported on {when}").format(when=t.datetime(at)))
    source = (
        "<i>"
        + escape(
            t._(
                "Source: incidents reported individually by news media and official "
                "statements; the link of each is in the file."
            )
        )
        + "</i>"
    )
    title = bold(t._("Mine and UXO casualties"))
    caption = "\n".join([title, filters, figures, when, "", source])
    if visible_length(caption) > MAX_CAPTION:
        # Only a very long list of districts gets here; the file name names them too.
        caption = "\n".join([title, figures, when, "", source])
    return caption


def render_export_empty(t: Translator, gazetteer: Gazetteer, f: IncidentFilter) -> str:
    return "\n".join(
        [
            escape(filters_text(t, gazetteer, f)),
            "",
            escape(t._("No incidents are recorded for these filters.")),
        ]
    )


def render_export_too_large(
    t: Translator, gazetteer: Gazetteer, f: IncidentFilter, limit_bytes: int
) -> str:
    size = format_unit(limit_bytes / 1_000_000, "digital-megabyte", length="short", locale=t.locale)
    return "\n".join(
        [
            escape(filters_text(t, gazetteer, f)),
            "",
            escape(
                t._(
                    "The file would be larger than {size}, the most a bot may send on Telegram. "
                    "Narrow the filters, for example to a district or a year."
                ).format(size=size)
            ),
        ]
    )
