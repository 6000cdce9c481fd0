"""The store API: the one way into the data for the handlers, the scheduled jobs and the CLI.

Typed requests in, typed results or typed domain errors (:mod:`db.store.errors`) out. Every call is
one unit of work: it opens and commits its own transaction and applies the rules of the product
(roles, four-eyes review, duplicates, the audit trail), so that a change made in the chat, from the
command line or by a job follows one path. Built once by the composition root.
"""

from __future__ import annotations

from db.session import Database
from db.store.access import Access, Policy
from db.store.drafts import Drafts


class Store:
    def __init__(self, db: Database, policy: Policy) -> None:
        self.db = db
        self.access = Access(db, policy)
        self.drafts = Drafts(db)
