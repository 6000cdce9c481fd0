"""The CSV format of an import of incidents, as pure types: the columns of the dataset's
``incidents.csv`` (see ``db/seed/azerbaijan/README.md``), the limits of a file, what counts as a
CSV file, and one problem found in a file (the parser is ``db.domain.csv_rows``, the rendering layer
words each problem in the reader's language).
"""

from __future__ import annotations

from dataclasses import dataclass

from db.domain.problems import ProblemKind

#: The largest file accepted (checked before it is downloaded): about 3,500 rows like the shipped
#: ones.
MAX_FILE_BYTES = 1024 * 1024
#: The most rows one file may have. Adding a row takes a few milliseconds (its audit entry and
#: the pre-aggregated totals are written with it), so this keeps an import, which holds up its
#: chat and the approval button of a reviewed one, to a few seconds.
MAX_ROWS = 2000
#: The longest source title.
MAX_TITLE = 1000

#: The columns of ``incidents.csv``, in its order.
COLUMNS = (
    "date",
    "date_precision",
    "district",
    "settlement",
    "civilian_killed",
    "civilian_injured",
    "military_killed",
    "military_injured",
    "device",
    "activity",
    "description",
    "source_url",
    "source_title",
    "date_note",
)
#: Columns a file must have; the others may be left out.
REQUIRED_COLUMNS = (
    "date",
    "district",
    "civilian_killed",
    "civilian_injured",
    "military_killed",
    "military_injured",
    "source_url",
)
#: Media types Telegram clients give a CSV file (besides a name ending in ``.csv``).
CSV_MIME_TYPES = frozenset(
    {"text/csv", "text/comma-separated-values", "application/csv", "text/x-csv"}
)


@dataclass(frozen=True, slots=True)
class ImportProblem:
    kind: ProblemKind
    #: The line of the file where the row starts (the header is line 1); None for the file.
    line: int | None = None
    column: str | None = None
    #: The value found, shortened.
    value: str = ""
    #: The limit broken (TOO_LARGE, TOO_LONG, TOO_MANY_ROWS), or the number of fields the
    #: header has (FIELD_COUNT).
    limit: int | None = None
    #: Nearest districts (UNKNOWN_DISTRICT).
    hints: tuple[int, ...] = ()
    #: Columns missing, unknown or repeated.
    names: tuple[str, ...] = ()


def is_csv(file_name: str | None, mime_type: str | None) -> bool:
    """A document that may be a CSV file: by its name, or by its media type."""
    if file_name and file_name.lower().endswith(".csv"):
        return True
    return (mime_type or "").split(";")[0].strip().lower() in CSV_MIME_TYPES
