"""Replies rendered from the store, kept for as long as the data they were read from.

The same question comes many times (a figure in the news sends many readers to the same filters,
in the same few languages, on the same day), and its answer changes only when the data do. A
reply is kept under the data version it was read at (``db.chats.data_version``, moved on by
triggers on every change to the figures' tables, whatever process or tool makes it), so that a
reader never gets a reply the data no longer support: the replies kept are all of one version,
and a read of any other version empties the store. (A version can also go back, when a backup is
restored under a running bot; a later change could then bring it to a number seen before, with
other data: emptying on any difference, not only on a newer version, keeps that safe too.)
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

#: Replies kept at most (a reply is a few kilobytes: a few megabytes in all).
DEFAULT_SIZE = 1024


class RenderedReplies:
    """A least-recently-used store of rendered replies, all of one data version."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self.size = size
        self.version = -1
        self.hits = 0
        self.misses = 0
        self._items: OrderedDict[Hashable, Any] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def _at(self, version: int) -> None:
        """Holds replies of ``version`` from now on (of no other)."""
        if version != self.version:
            self._items.clear()
            self.version = version

    def get(self, version: int, key: Hashable) -> Any | None:
        self._at(version)
        found = self._items.get(key)
        if found is None:
            self.misses += 1
            return None
        self._items.move_to_end(key)
        self.hits += 1
        return found

    def put(self, version: int, key: Hashable, reply: Any) -> None:
        self._at(version)
        self._items[key] = reply
        self._items.move_to_end(key)
        while len(self._items) > self.size:  # size 0: nothing is kept
            self._items.popitem(last=False)
