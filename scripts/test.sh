#!/usr/bin/env bash
# Sets up a virtualenv with Woes and its test dependencies, then runs the whole suite
# (every database test on SQLite and on PostgreSQL at 127.0.0.1:5432).
set -euo pipefail
cd "$(dirname "$0")/.."
# Debian chromium for the widget's browser tests (tests/livechat/test_widget_browser.py; Playwright drives it, no `playwright install`).
command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)
python3 -m venv .venv
.venv/bin/pip install --quiet --upgrade pip
.venv/bin/pip install --quiet -e '.[test]'
.venv/bin/ruff check src tests bench tools
# Import contracts (pyproject.toml [tool.importlinter]; docs/architecture.md "Layers"): layers, core names no
# domain, no package uses another's _private names.
.venv/bin/lint-imports
# Four workers on two cores: many tests wait on PostgreSQL, subprocesses or argon2; worksteal evens out the tail.
exec .venv/bin/pytest -n 4 --dist worksteal "$@"
