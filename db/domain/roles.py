"""Who may change the store: readers, the editors owners appoint, and the owners."""

from __future__ import annotations

import enum


class Role(enum.IntEnum):
    NONE = 0
    EDITOR = 1
    OWNER = 2
