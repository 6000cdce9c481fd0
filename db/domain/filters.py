"""What a question asks for: districts, a period and a category of people."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass


class Category(enum.StrEnum):
    CIVILIAN = "civilian"
    MILITARY = "military"


@dataclass(frozen=True, slots=True)
class Period:
    """An inclusive date range; either end may be open (None)."""

    start: dt.date | None = None
    end: dt.date | None = None

    @property
    def is_open(self) -> bool:
        return self.start is None and self.end is None


@dataclass(frozen=True, slots=True)
class IncidentFilter:
    districts: tuple[int, ...] = ()
    period: Period = Period()
    category: Category | None = None
