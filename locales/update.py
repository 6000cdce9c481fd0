"""Re-extract the messages and merge them into every catalog: ``python -m locales.update``.

The one place that says how messages are extracted; the test that the catalogs are up to date
runs the same extraction.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from babel.messages.frontend import CommandLineInterface

from locales import DOMAIN, LOCALES_DIR

REPO = LOCALES_DIR.parent
#: The functions whose string arguments are messages (see locales/i18n.py).
KEYWORDS = ("_", "gettext", "N_", "ngettext:1,2", "pgettext:1c,2", "npgettext:1c,2,3")


def extract_args(output: Path) -> list[str]:
    """``pybabel extract`` arguments, to run with the repository as the working directory (so
    that the catalogs' locations are relative paths)."""
    keywords = [arg for keyword in KEYWORDS for arg in ("-k", keyword)]
    return [
        "pybabel", "extract", "-F", "babel.cfg", *keywords, "-c", "NOTE:", "--no-wrap",
        "--sort-by-file", "--add-location=file", "--omit-header", "-o", str(output), ".",
    ]  # fmt: skip


def main() -> int:
    os.chdir(REPO)
    template = LOCALES_DIR / f"{DOMAIN}.pot"
    cli = CommandLineInterface()
    cli.run(extract_args(template))  # type: ignore[no-untyped-call]
    cli.run(  # type: ignore[no-untyped-call]
        [
            "pybabel",
            "update",
            "-i",
            str(template),
            "-d",
            str(LOCALES_DIR),
            "-D",
            DOMAIN,
            "--no-wrap",
            "--ignore-obsolete",
            "--no-fuzzy-matching",
        ]
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
