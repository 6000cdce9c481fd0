#!/usr/bin/env sh
# Re-extract the messages and merge them into every catalog (run from anywhere).
set -e
cd "$(dirname "$0")/.."
pybabel extract -F babel.cfg -k _ -k gettext -k N_ -k ngettext:1,2 -k pgettext:1c,2 -k npgettext:1c,2,3 \
  -c NOTE: --no-wrap --sort-by-file --add-location=file --omit-header -o locales/messages.pot .
pybabel update -i locales/messages.pot -d locales -D messages --no-wrap --ignore-obsolete --no-fuzzy-matching
