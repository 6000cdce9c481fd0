"""Rendering of CSV imports: the problems found, by line; what was added and what was skipped;
an import kept for review; how a file is sent.

The ``*_lines`` functions give plain text (the command line prints it); the ``render_*``
functions give Telegram HTML, every dynamic value escaped, never longer than a message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from db.domain.drafts import ImportReport, IncidentDraft
from db.domain.gazetteer import Gazetteer
from db.domain.imports import COLUMNS, MAX_FILE_BYTES, REQUIRED_COLUMNS, ImportProblem
from db.domain.problems import ProblemKind
from db.domain.records import DatePrecision
from db.domain.validation import FormProblem
from db.store.imports import added_drafts
from handlers.render import (
    MAX_MESSAGE,
    Rendered,
    bold,
    escape,
    injured_line,
    killed_line,
    utf16_length,
)
from handlers.render.changes import render_proposed
from handlers.render.problems import problem_text
from locales.i18n import Translator

#: Line numbers and incident numbers named in a reply before "… and N more".
MAX_LISTED = 20
MAX_FILE_NAME = 60
#: Room kept in a message for the heading and the closing lines around the problems.
_RESERVED = 600

_FILE_KINDS = frozenset(
    {
        ProblemKind.EMPTY_FILE,
        ProblemKind.MISSING_COLUMNS,
        ProblemKind.UNKNOWN_COLUMNS,
        ProblemKind.REPEATED_COLUMNS,
        ProblemKind.NO_ROWS,
    }
)


def _file(name: str | None) -> str:
    name = name or "CSV"
    return name if len(name) <= MAX_FILE_NAME else name[: MAX_FILE_NAME - 1] + "…"


def _quoted(names: Sequence[str]) -> str:
    return ", ".join(f"“{name}”" for name in names)


def _more(t: Translator, n: int) -> str:
    return t.ngettext("… and {n} more", "… and {n} more", n).format(n=t.number(n))


def _listed(t: Translator, items: Sequence[str]) -> str:
    shown = ", ".join(items[:MAX_LISTED])
    if len(items) > MAX_LISTED:
        shown += " " + _more(t, len(items) - MAX_LISTED)
    return shown


# -- problems -------------------------------------------------------------------------------------


def import_problem_text(t: Translator, gazetteer: Gazetteer, p: ImportProblem) -> str:
    """Plain text: one problem, naming its column and what is wrong (without its line)."""
    kind = p.kind
    if kind is ProblemKind.NOT_UTF8:
        return t._("The file is not in UTF-8 from here on: save it as “CSV UTF-8”.")
    if kind is ProblemKind.BAD_CSV:
        return t._("The file cannot be read as CSV from here on (is a quotation mark not closed?).")
    if kind is ProblemKind.EMPTY_FILE:
        return t._("The file is empty.")
    if kind is ProblemKind.MISSING_COLUMNS:
        return t.ngettext(
            "The header lacks a required column: {columns}.",
            "The header lacks required columns: {columns}.",
            len(p.names),
        ).format(columns=_quoted(p.names))
    if kind is ProblemKind.UNKNOWN_COLUMNS:
        return t.ngettext(
            "The header has a column the dataset does not have: {columns}.",
            "The header has columns the dataset does not have: {columns}.",
            len(p.names),
        ).format(columns=_quoted(p.names))
    if kind is ProblemKind.REPEATED_COLUMNS:
        return t.ngettext(
            "The header names a column twice: {columns}.",
            "The header names columns twice: {columns}.",
            len(p.names),
        ).format(columns=_quoted(p.names))
    if kind is ProblemKind.NO_ROWS:
        return t._("The file has a header but no rows.")
    if kind is ProblemKind.TOO_MANY_ROWS:
        limit = p.limit or 0
        return t.ngettext(
            "The file has more than {n} row: split it into smaller files.",
            "The file has more than {n} rows: split it into smaller files.",
            limit,
        ).format(n=t.number(limit))
    if kind is ProblemKind.FIELD_COUNT:
        return t._(
            "the row has a different number of values ({found}) than the header has columns "
            "({expected}); is a value with a comma not in double quotes?"
        ).format(found=p.value, expected=t.number(p.limit or 0))
    if kind is ProblemKind.UNKNOWN_PRECISION:
        return t._("{key}: “{value}” is not one of {choices}.").format(
            key=p.column or "", value=p.value, choices=", ".join(d.value for d in DatePrecision)
        )
    # The kinds of the admin forms: worded as for /add, the column as the key.
    hints = p.hints if kind is ProblemKind.UNKNOWN_DISTRICT else ()
    if p.limit is not None:
        hints = (p.limit,)
    return problem_text(
        t, gazetteer, FormProblem(ProblemKind(kind.value), p.column, p.value, hints)
    )


def problem_line(t: Translator, gazetteer: Gazetteer, p: ImportProblem) -> str:
    """Plain text: ``Line 5: civilian_killed: “-1” is not a whole number of 0 or more.``"""
    text = import_problem_text(t, gazetteer, p)
    if p.line is None or p.kind in _FILE_KINDS:
        return text
    # NOTE: {problem} is one of the sentences about a value, already translated.
    return t._("Line {line}: {problem}").format(line=p.line, problem=text)


def columns_line(t: Translator) -> str:
    optional = [c for c in COLUMNS if c not in REQUIRED_COLUMNS]
    return t._("Required columns: {required}. Optional: {optional}.").format(
        required=", ".join(REQUIRED_COLUMNS), optional=", ".join(optional)
    )


def problems_summary(
    t: Translator, file_name: str | None, problems: Sequence[ImportProblem]
) -> list[str]:
    """Plain text: that nothing was imported, and how many problems there are."""
    return [
        t._("Nothing was imported from {file}.").format(file=_file(file_name)),
        t.ngettext(
            "{n} problem was found; fix it and try again.",
            "{n} problems were found; fix them and try again.",
            len(problems),
        ).format(n=t.number(len(problems))),
    ]


def render_import_problems(
    t: Translator, gazetteer: Gazetteer, file_name: str | None, problems: Sequence[ImportProblem]
) -> str:
    """Nothing was imported, and why: the problems by line, as many as fit in a message."""
    heading, count = problems_summary(t, file_name, problems)
    lines = [bold(heading), escape(count)]
    room = MAX_MESSAGE - _RESERVED - sum(utf16_length(line) + 1 for line in lines)
    shown = 0
    for p in problems:
        line = "• " + escape(problem_line(t, gazetteer, p))
        if utf16_length(line) + 1 > room:
            break
        lines.append(line)
        room -= utf16_length(line) + 1
        shown += 1
    if shown < len(problems):
        lines.append(escape(_more(t, len(problems) - shown)))
    if any(p.kind in _FILE_KINDS for p in problems):
        lines += ["", escape(columns_line(t))]
    return "\n".join(lines)


# -- results --------------------------------------------------------------------------------------


def id_ranges(ids: Sequence[int]) -> list[str]:
    """``#12–#15``, ``#20``: incident numbers, consecutive ones as a range."""
    out: list[str] = []
    ordered = sorted(ids)
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        out.append(f"#{ordered[i]}" if i == j else f"#{ordered[i]}–#{ordered[j]}")
        i = j + 1
    return out


def _figures(t: Translator, drafts: Sequence[IncidentDraft]) -> tuple[str, str]:
    killed = sum(d.civilian_killed + d.military_killed for d in drafts)
    injured = sum(d.civilian_injured + d.military_injured for d in drafts)
    return killed_line(t, killed), injured_line(t, injured)


def _skipped_line(t: Translator, lines: Sequence[int]) -> str:
    # NOTE: {lines} lists line numbers of the file: 3, 7, 12.
    return t.ngettext(
        "{n} row skipped as a duplicate (already in the store or earlier in the file): line "
        "{lines}.",
        "{n} rows skipped as duplicates (already in the store or earlier in the file): lines "
        "{lines}.",
        len(lines),
    ).format(n=t.number(len(lines)), lines=_listed(t, [str(n) for n in lines]))


def imported_lines(
    t: Translator, file_name: str | None, report: ImportReport, added: Sequence[IncidentDraft]
) -> list[str]:
    """Plain text: what an import added (and its figures) and what it skipped."""
    if report.added:
        lines = [
            t._("Imported from {file}").format(file=_file(file_name)),
            # NOTE: {ids} lists the new incidents' numbers: #12–#15, #20.
            t.ngettext(
                "{n} incident added: {ids}.", "{n} incidents added: {ids}.", len(report.added)
            ).format(n=t.number(len(report.added)), ids=_listed(t, id_ranges(report.added))),
        ]
    else:
        lines = [
            t._("Nothing new in {file}").format(file=_file(file_name)),
            t._("No incident was added."),
        ]
    if report.skipped:
        lines.append(_skipped_line(t, report.skipped))
    if report.added:
        killed, injured = _figures(t, added)
        lines.append(
            t._("Added to the figures: {killed}, {injured}.").format(killed=killed, injured=injured)
        )
    return lines


def render_imported(
    t: Translator, file_name: str | None, report: ImportReport, added: Sequence[IncidentDraft]
) -> str:
    heading, *rest = imported_lines(t, file_name, report, added)
    return "\n".join([bold(heading), *(escape(line) for line in rest)])


def _to_add_lines(
    t: Translator, rows: Sequence[tuple[int, IncidentDraft]], skipped: Sequence[int]
) -> list[str]:
    left_out = set(skipped)
    killed, injured = _figures(t, [draft for line, draft in rows if line not in left_out])
    lines = [t.ngettext("{n} row", "{n} rows", len(rows)).format(n=t.number(len(rows)))]
    if skipped:
        lines.append(_skipped_line(t, skipped))
    lines.append(
        t._("To be added to the figures: {killed}, {injured}.").format(
            killed=killed, injured=injured
        )
    )
    return lines


def checked_lines(
    t: Translator,
    file_name: str | None,
    rows: Sequence[tuple[int, IncidentDraft]],
    skipped: Sequence[int],
) -> list[str]:
    """Plain text: a file checked without importing it (the command line's ``--dry-run``)."""
    heading = t._("{file} has no problem; nothing was written.").format(file=_file(file_name))
    return [heading, *_to_add_lines(t, rows, skipped)]


def render_import_proposed(
    t: Translator,
    file_name: str | None,
    rows: Sequence[tuple[int, IncidentDraft]],
    skipped: Sequence[int],
    change_id: int,
) -> Rendered:
    """An editor's import kept for review, with the button to withdraw it."""
    heading = t._("Import from {file}, not applied yet").format(file=_file(file_name))
    body = [bold(heading), *(escape(line) for line in _to_add_lines(t, rows, skipped))]
    return render_proposed(t, "\n".join(body), change_id)


def _payload_rows(payload: Mapping[str, Any]) -> list[tuple[int, IncidentDraft]]:
    return [(int(line), IncidentDraft.from_json(data)) for line, data in payload.get("rows", [])]


def import_change_lines(t: Translator, payload: Mapping[str, Any]) -> list[str]:
    """Plain text: an import waiting for review, from its payload (for the reviewers' card)."""
    rows = _payload_rows(payload)
    killed, injured = _figures(t, [draft for _, draft in rows])
    count = t.ngettext("{n} row", "{n} rows", len(rows)).format(n=t.number(len(rows)))
    return [
        count + (f" · {_file(payload['file'])}" if payload.get("file") else ""),
        t._("To be added to the figures: {killed}, {injured}.").format(
            killed=killed, injured=injured
        ),
    ]


def import_outcome(t: Translator, payload: Mapping[str, Any], report: ImportReport) -> str:
    """Plain text: what an approved import did (for the reviewer's message)."""
    rows = _payload_rows(payload)
    return "\n".join(imported_lines(t, payload.get("file"), report, added_drafts(rows, report)))


# -- refusals and usage ---------------------------------------------------------------------------


def import_usage(t: Translator) -> str:
    return "\n".join(
        escape(line)
        for line in (
            t._(
                "To import incidents, send a CSV file in the dataset's format as a document: in "
                "a private chat with the bot, or in a group with the caption /import."
            ),
            columns_line(t),
            t._(
                "Every row is checked first: if any has a problem, nothing is imported. Rows "
                "already in the store are skipped."
            ),
        )
    )


def render_not_csv(t: Translator) -> str:
    return "\n".join(
        [
            escape(
                t._(
                    "This is not a CSV file. A spreadsheet can be saved as “CSV UTF-8” and sent "
                    "again."
                )
            ),
            "",
            import_usage(t),
        ]
    )


def too_large_text(t: Translator) -> str:
    megabytes = MAX_FILE_BYTES // (1024 * 1024)
    return t._("The file is larger than {size} MB: split it into smaller files.").format(
        size=t.number(megabytes)
    )


def render_too_large(t: Translator) -> str:
    return escape(too_large_text(t))


def render_download_failed(t: Translator) -> str:
    return escape(t._("The file could not be downloaded from Telegram: send it again."))
