"""The store API: the one way into the data for the handlers, the scheduled jobs and the CLI.

Typed requests in, typed results or typed domain errors (:mod:`db.store.errors`) out. Every call is
one unit of work: it opens and commits its own transaction and applies the rules of the product
(roles, four-eyes review, duplicates, the audit trail), so that a change made in the chat, from the
command line or by a job follows one path. Built once by the composition root.
"""

from __future__ import annotations

from db.session import Database
from db.store.access import Access, Policy
from db.store.chats import Chats
from db.store.digests import Digests
from db.store.drafts import Drafts
from db.store.editors import Editors
from db.store.exports import Exports
from db.store.imports import Imports
from db.store.incidents import Incidents
from db.store.lists import IncidentLists
from db.store.official import Official
from db.store.review import Review
from db.store.stats import StatsReads
from db.store.status import StatusReads
from db.store.subscriptions import Subscriptions


class Store:
    def __init__(self, db: Database, policy: Policy) -> None:
        self.db = db
        self.access = Access(db, policy)
        self.imports = Imports(db, self.access)
        self.incidents = Incidents(db, self.access)
        self.review = Review(db, self.access)
        self.official = Official(db, self.access)
        self.editors = Editors(db, self.access)
        self.stats = StatsReads(db)
        self.lists = IncidentLists(db)
        self.exports = Exports(db)
        self.chats = Chats(db)
        self.status = StatusReads(db)
        self.subscriptions = Subscriptions(db)
        self.digests = Digests(db)
        self.drafts = Drafts(db)
