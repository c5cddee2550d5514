#!/usr/bin/env bash
# Sets up Woes in a virtualenv and runs it on its embedded SQLite database in ./.woes
# (no other service). The first run creates a workspace and prints its owner login and API key.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install --quiet --upgrade pip
.venv/bin/pip install --quiet -e .
export WOES_DATA_DIR="${WOES_DATA_DIR:-.woes}"
if [ ! -f "$WOES_DATA_DIR/woes.db" ]; then
  .venv/bin/woes init
fi
exec .venv/bin/woes serve --host "${WOES_HOST:-127.0.0.1}" --port "${WOES_PORT:-8000}"
