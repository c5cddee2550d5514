#!/usr/bin/env bash
# Sets up Woes in a virtualenv and runs the demo: a workspace whose agent answers from a sample API spec,
# on the embedded SQLite database in ./.woes (no other service). Prints the demo page URL and an API key.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install --quiet --upgrade pip
.venv/bin/pip install --quiet -e .
export WOES_DATA_DIR="${WOES_DATA_DIR:-.woes}"
exec .venv/bin/woes demo --host "${WOES_HOST:-127.0.0.1}" --port "${WOES_PORT:-8000}"
