"""/chart: casualties per month as a PNG (matplotlib, object API only) and its caption.

Nothing from matplotlib is imported at import time (it costs half a second); :func:`chart_png`
imports it when first called and uses a ``Figure`` with its own Agg canvas, never pyplot and
never the global ``rcParams``, so that charts can be drawn in worker threads side by side.
Every text on the image names its font (DejaVu Sans, bundled with matplotlib, covers Azerbaijani
and Cyrillic letters) and comes from the chat's catalog; numbers and month names from Babel.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from babel.dates import format_date

from db.domain.filters import Category
from db.domain.gazetteer import Gazetteer
from db.domain.series import MonthlySeries
from handlers.render import (
    SEPARATOR,
    bold,
    counts_block,
    escape,
    filters_text,
    visible_length,
)
from locales.i18n import Translator

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: Telegram's limit for a caption after entity parsing.
MAX_CAPTION = 1024

WIDTH_PX, HEIGHT_PX, DPI = 1280, 800, 100
FONT = "DejaVu Sans"
#: Point sizes: at 1280 px wide a phone shows the image at about a third, so nothing is below 15.
TITLE_SIZE, SUBTITLE_SIZE, TEXT_SIZE = 24, 17, 15
#: Up to this many months every month is named; up to QUARTERS_UP_TO every quarter; beyond,
#: every January, by its year.
MONTHS_UP_TO, QUARTERS_UP_TO = 18, 48
#: Bars are labelled with their total up to this many months.
BAR_LABELS_UP_TO = 24
#: The x axis has room for at least this many bars, so that one month is not a wall of colour.
MIN_SLOTS = 6
#: Characters per line of the notes at the foot and of the filters under the title (DejaVu Sans
#: at 15 and 17 pt on 1280 px), and of the legend's labels for one row.
FOOTER_WIDTH, SUBTITLE_WIDTH, LEGEND_ROW_CHARS = 115, 100, 80


@dataclass(frozen=True, slots=True)
class Series:
    #: The field of ``Counts`` drawn, also the bars' gid (tests read it back).
    field: str
    #: The legend label's msgid (already in the catalogs: /stats uses it).
    label: str
    colour: str


# Okabe-Ito: distinguishable with every common colour-vision deficiency; killed darker than
# injured within each category.
SERIES = (
    Series("civilian_killed", "civilians killed", "#D55E00"),
    Series("civilian_injured", "civilians injured", "#E69F00"),
    Series("military_killed", "military killed", "#0072B2"),
    Series("military_injured", "military injured", "#56B4E9"),
)


def drawn_series(category: Category | None) -> tuple[Series, ...]:
    if category is Category.CIVILIAN:
        return SERIES[:2]
    if category is Category.MILITARY:
        return SERIES[2:]
    return SERIES


# -- texts, shared by the image and the caption -----------------------------------------------


def title(t: Translator) -> str:
    return t._("Mine and UXO casualties per month")


def unplaced_note(t: Translator, series: MonthlySeries) -> str | None:
    """Why the bars can add up to less than /stats, or None when they do not."""
    n = series.unplaced.total
    if n == 0:
        return None
    return t.ngettext(
        "{n} person in incidents dated only to a year or to several months is not shown",
        "{n} people in incidents dated only to a year or to several months are not shown",
        n,
    ).format(n=t.number(n))


def source_text(t: Translator, compiled_by: str) -> str:
    return t._(
        "Source: incidents reported by news media and official statements, compiled by "
        "{compiled_by}"
    ).format(compiled_by=compiled_by)


def as_of_text(t: Translator, when: dt.datetime | None) -> str | None:
    if when is None:
        return None
    local = when.astimezone(t.tz).date()  # the store gives it in UTC
    return t._("Data as of {date}").format(date=t.date(local))


def _capitalised(t: Translator, text: str) -> str:
    """The first letter upper case (a dotted İ for a dotted i in Azerbaijani and Turkish)."""
    first = text[:1]
    if first == "i" and t.locale.language in ("az", "tr"):
        return "İ" + text[1:]
    return first.upper() + text[1:]


def month_label(t: Translator, month: dt.date, *, with_year: bool) -> str:
    name = format_date(month, "LLL", locale=t.locale)
    return f"{name}\n{format_date(month, 'y', locale=t.locale)}" if with_year else name


def month_ticks(t: Translator, months: Sequence[dt.date]) -> tuple[list[int], list[str]]:
    """Where the x axis is labelled, and how: every month (the year under the first and under
    each January), every quarter, or every January by its year alone."""
    n = len(months)
    if n <= QUARTERS_UP_TO:
        every = 1 if n <= MONTHS_UP_TO else 3
        chosen = [i for i, m in enumerate(months) if (m.month - 1) % every == 0]
        return chosen, [
            month_label(t, months[i], with_year=k == 0 or months[i].month == 1)
            for k, i in enumerate(chosen)
        ]
    chosen = [i for i, m in enumerate(months) if m.month == 1]
    return chosen, [format_date(months[i], "y", locale=t.locale) for i in chosen]


# -- the image ---------------------------------------------------------------------------------


def _points_to_fraction(points: float) -> float:
    """A height in points as a fraction of the figure's height."""
    return points / 72 * DPI / HEIGHT_PX


def chart_figure(
    t: Translator, gazetteer: Gazetteer, series: MonthlySeries, *, compiled_by: str
) -> Figure:
    """The chart as a matplotlib Figure with an Agg canvas (drawn by ``chart_png``). Each series
    is one BarContainer (of its non-empty bars) labelled like its legend entry; its bars carry
    the series' field as gid.

    The title, the filters and the legend take a band at the top and the notes a band at the
    bottom, both measured in lines of text; the axes fill the rest (constrained layout makes
    room for their tick labels)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    drawn = drawn_series(series.filter.category)
    labels = [_capitalised(t, t._(s.label)) for s in drawn]
    # Four legend entries in one row when their labels are short, else two rows.
    columns = len(drawn) if sum(len(label) for label in labels) <= LEGEND_ROW_CHARS else 2
    subtitle = textwrap.wrap(
        filters_text(t, gazetteer, series.filter), SUBTITLE_WIDTH, max_lines=2, placeholder=" …"
    )
    texts = (
        unplaced_note(t, series),
        source_text(t, compiled_by),
        as_of_text(t, series.data_as_of),
    )
    notes = [line for text in texts if text for line in textwrap.wrap(text, FOOTER_WIDTH)]

    # The bands, in figure fractions: the top one from the top down, then the bottom one.
    title_y = 1 - _points_to_fraction(10)
    subtitle_y = title_y - _points_to_fraction(TITLE_SIZE * 1.25 + 6)
    legend_y = subtitle_y - _points_to_fraction(SUBTITLE_SIZE * 1.2 * len(subtitle) + 6)
    rows = -(-len(drawn) // columns)
    axes_top = legend_y - _points_to_fraction(TEXT_SIZE * 1.75 * rows + 4)
    footer = _points_to_fraction(TEXT_SIZE * 1.2 * len(notes) + 10)

    layout = ConstrainedLayoutEngine(rect=(0, footer, 1, axes_top - footer), w_pad=0.15, h_pad=0.08)
    figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, layout=layout)
    FigureCanvasAgg(figure)
    _title_and_filters(t, figure, title_y, subtitle_y, subtitle)
    ax = figure.add_subplot()
    _draw_bars(t, ax, series, drawn, labels)
    _style_axes(t, ax, [m.month for m in series.months])
    _legend_and_notes(figure, drawn, labels, columns, legend_y, notes)
    return figure


def _title_and_filters(
    t: Translator, figure: Figure, title_y: float, subtitle_y: float, subtitle: Sequence[str]
) -> None:
    figure.text(
        0.5,
        title_y,
        title(t),
        ha="center",
        va="top",
        fontsize=TITLE_SIZE,
        fontweight="bold",
        fontfamily=FONT,
        parse_math=False,
    )
    figure.text(
        0.5,
        subtitle_y,
        "\n".join(subtitle),
        ha="center",
        va="top",
        fontsize=SUBTITLE_SIZE,
        color="#333333",
        linespacing=1.2,
        fontfamily=FONT,
        parse_math=False,
    )


def _draw_bars(
    t: Translator, ax: Axes, series: MonthlySeries, drawn: Sequence[Series], labels: Sequence[str]
) -> None:
    """The stacked bars, their totals above them (when few), and the axes' limits."""
    n = len(series.months)
    # Only the segments with people in them are drawn (adding a bar to the axes is the slow
    # part): each series is one BarContainer, possibly empty.
    width = 0.8 if n <= 40 else 0.85
    edge = {"edgecolor": "white", "linewidth": 0.8} if n <= 40 else {"linewidth": 0}
    bottom = [0] * n
    for s, label in zip(drawn, labels, strict=True):
        heights = [getattr(m.counts, s.field) for m in series.months]
        shown = [i for i, h in enumerate(heights) if h]
        ax.bar(
            shown,
            [heights[i] for i in shown],
            width,
            bottom=[bottom[i] for i in shown],
            color=s.colour,
            label=label,
            gid=s.field,
            **edge,
        )
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    if n <= BAR_LABELS_UP_TO:
        for i, total in enumerate(bottom):
            if total:
                ax.annotate(
                    t.number(total),
                    (i, total),
                    xytext=(0, 3),
                    textcoords="offset points",
                    ha="center",
                    va="bottom",
                    fontsize=TEXT_SIZE,
                    fontfamily=FONT,
                )
    ax.set_ylim(0, max(1, max(bottom, default=0)) * 1.12)
    pad = (max(n, MIN_SLOTS) - n) / 2 + 0.5
    ax.set_xlim(-pad, n - 1 + pad)


def _style_axes(t: Translator, ax: Axes, months: Sequence[dt.date]) -> None:
    """Ticks (numbers and months in the chat's language), grid, spines and axis labels."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator

    n = len(months)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=6, integer=True, min_n_ticks=2))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: t.number(round(value))))
    positions, tick_labels = month_ticks(t, months)
    ax.set_xticks(positions, tick_labels)
    if n > MONTHS_UP_TO:
        ax.xaxis.set_minor_locator(FixedLocator(list(range(n))))
    ax.tick_params(labelsize=TEXT_SIZE, labelfontfamily=FONT)
    ax.tick_params(axis="x", which="major", length=6)
    ax.tick_params(axis="x", which="minor", length=3)
    ax.grid(axis="y", color="#d9d9d9", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_ylabel(
        t.pgettext("chart axis", "People killed or injured"), fontsize=TEXT_SIZE, fontfamily=FONT
    )
    ax.set_xlabel(t.pgettext("chart axis", "Month"), fontsize=TEXT_SIZE, fontfamily=FONT)


def _legend_and_notes(
    figure: Figure,
    drawn: Sequence[Series],
    labels: Sequence[str],
    columns: int,
    legend_y: float,
    notes: Sequence[str],
) -> None:
    from matplotlib.font_manager import FontProperties
    from matplotlib.patches import Patch

    figure.legend(
        handles=[
            Patch(facecolor=s.colour, label=label) for s, label in zip(drawn, labels, strict=True)
        ],
        loc="upper center",
        bbox_to_anchor=(0.5, legend_y),
        ncols=columns,
        frameon=False,
        prop=FontProperties(family=FONT, size=TEXT_SIZE),
        handlelength=1.5,
        columnspacing=1.6,
        borderaxespad=0,
        borderpad=0.2,
    )
    figure.text(
        0.01,
        _points_to_fraction(6),
        "\n".join(notes),
        ha="left",
        va="bottom",
        fontsize=TEXT_SIZE,
        color="#444444",
        linespacing=1.2,
        fontfamily=FONT,
        parse_math=False,
    )


def chart_png(
    t: Translator, gazetteer: Gazetteer, series: MonthlySeries, *, compiled_by: str
) -> bytes:
    """The chart drawn as a PNG of WIDTH_PX × HEIGHT_PX (CPU-bound: call it in a thread)."""
    figure = chart_figure(t, gazetteer, series, compiled_by=compiled_by)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    return buffer.getvalue()


# -- the caption and the text answers ----------------------------------------------------------


def _footer_line(t: Translator, series: MonthlySeries, compiled_by: str) -> str:
    parts = [source_text(t, compiled_by), as_of_text(t, series.data_as_of)]
    return "<i>" + escape(SEPARATOR.join(p for p in parts if p)) + "</i>"


def _fitted(lines: list[str], filters_index: int, limit: int) -> str:
    """The lines joined, the (escaped, plain) filters line shortened until the whole is below
    ``limit`` visible characters."""
    raw = html.unescape(lines[filters_index])
    text = "\n".join(lines)
    while visible_length(text) >= limit and raw:
        raw = raw[: -max(1, visible_length(text) - limit + 1) - 1]
        lines = [*lines[:filters_index], escape(raw + "…"), *lines[filters_index + 1 :]]
        text = "\n".join(lines)
    return text


def chart_caption(
    t: Translator, gazetteer: Gazetteer, series: MonthlySeries, *, compiled_by: str
) -> str:
    """The photo's caption (HTML, under Telegram's 1,024 characters): the title, the filters,
    what the bars add up to, what they leave out, the source and the date of the data."""
    lines = [bold(title(t)), escape(filters_text(t, gazetteer, series.filter)), ""]
    lines += counts_block(t, series.placed, series.filter.category)
    note = unplaced_note(t, series)
    if note:
        lines.append(escape(note))
    lines += ["", _footer_line(t, series, compiled_by)]
    return _fitted(lines, 1, MAX_CAPTION)


def chart_text(
    t: Translator, gazetteer: Gazetteer, series: MonthlySeries, *, compiled_by: str
) -> str:
    """The answer when there is nothing to draw: no incident, or none that can be placed in a
    month (their figures are then given in words)."""
    lines = [bold(title(t)), escape(filters_text(t, gazetteer, series.filter)), ""]
    if series.incidents == 0:
        lines.append(escape(t._("No incidents are recorded for these filters.")))
        return "\n".join(lines)
    lines += counts_block(t, series.counts, series.filter.category)
    note = unplaced_note(t, series)
    if note:
        lines.append(escape(note))
    lines += ["", _footer_line(t, series, compiled_by)]
    return "\n".join(lines)
