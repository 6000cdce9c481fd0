"""Every problem the bot can find in what a user typed or sent, as one enum.

A problem is found by the parser of command arguments (``handlers.parsing``), by the checks of
admin forms (``db.domain.validation``) or by the CSV importer (``db.domain.csv_rows``); the same kind means the same
thing wherever it is found, and the rendering layer words each kind in the reader's language.
"""

from __future__ import annotations

import enum


class ProblemKind(enum.StrEnum):
    # -- command arguments (/stats, /compare, /subscribe) ------------------------------------------
    UNKNOWN_WORD = "unknown_word"
    #: /subscribe: a time of day that is not HH:MM, or a period (a digest covers what is new).
    BAD_TIME = "bad_time"
    PERIOD_IN_SUBSCRIPTION = "period_in_subscription"
    TWO_FREQUENCIES = "two_frequencies"
    BAD_RANGE = "bad_range"
    EMPTY_RANGE = "empty_range"
    TWO_PERIODS = "two_periods"
    TWO_CATEGORIES = "two_categories"
    #: /compare: not exactly two periods or two districts.
    COMPARE_WHAT = "compare_what"

    # -- admin forms (key=value) ------------------------------------------------------------------
    NOT_KEY_VALUE = "not_key_value"
    UNCLOSED_QUOTE = "unclosed_quote"
    UNKNOWN_KEY = "unknown_key"
    REPEATED_KEY = "repeated_key"
    EMPTY = "empty"
    DATE_ORDER = "date_order"
    SUMS = "sums"
    NO_FIGURE = "no_figure"
    BAD_ID = "bad_id"

    # -- one value, in a form, a guided step or a CSV row -----------------------------------------
    MISSING = "missing"
    BAD_DATE = "bad_date"
    FUTURE_DATE = "future_date"
    TOO_OLD = "too_old"
    BAD_NUMBER = "bad_number"
    TOO_LARGE = "too_large"
    NO_CASUALTIES = "no_casualties"
    UNKNOWN_DISTRICT = "unknown_district"
    BAD_URL = "bad_url"
    TOO_LONG = "too_long"
    UNKNOWN_DEVICE = "unknown_device"

    # -- a CSV file as a whole --------------------------------------------------------------------
    NOT_UTF8 = "not_utf8"
    BAD_CSV = "bad_csv"
    EMPTY_FILE = "empty_file"
    MISSING_COLUMNS = "missing_columns"
    UNKNOWN_COLUMNS = "unknown_columns"
    REPEATED_COLUMNS = "repeated_columns"
    NO_ROWS = "no_rows"
    TOO_MANY_ROWS = "too_many_rows"
    # -- one CSV row ------------------------------------------------------------------------------
    FIELD_COUNT = "field_count"
    UNKNOWN_PRECISION = "unknown_precision"
