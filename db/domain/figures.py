"""Figures as the store reads them: counts of people and dates as precise as they are known."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from db.domain.records import DatePrecision


@dataclass(frozen=True, slots=True)
class Counts:
    civilian_killed: int = 0
    civilian_injured: int = 0
    military_killed: int = 0
    military_injured: int = 0

    @property
    def killed(self) -> int:
        return self.civilian_killed + self.military_killed

    @property
    def injured(self) -> int:
        return self.civilian_injured + self.military_injured

    @property
    def total(self) -> int:
        return self.killed + self.injured

    @property
    def civilian(self) -> int:
        return self.civilian_killed + self.civilian_injured

    @property
    def military(self) -> int:
        return self.military_killed + self.military_injured


@dataclass(frozen=True, slots=True)
class DatedValue:
    date: dt.date
    precision: DatePrecision
