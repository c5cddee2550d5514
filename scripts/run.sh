#!/usr/bin/env bash
# Sets up Woes in a virtualenv and runs it on its embedded SQLite database in ./.woes (no other service),
# with the demo workspace: an agent that answers from a bundled sample API spec. Prints the demo page URL,
# an API key and (the first time) the owner login; then serves on http://127.0.0.1:8000.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install --quiet --upgrade pip
.venv/bin/pip install --quiet -e .
export WOES_DATA_DIR="${WOES_DATA_DIR:-.woes}"
exec .venv/bin/woes demo --host "${WOES_HOST:-127.0.0.1}" --port "${WOES_PORT:-8000}"
