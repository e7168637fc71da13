#!/usr/bin/env bash
# Runs every test: sets up python-tuf (for interoperability tests) in .venv, then the workspace
# tests. This is the README's test command and what .ci/run calls.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-python.sh
export TUFOTA_PYTHON="$PWD/.venv/bin/python"
cargo test --workspace --all-features --locked "$@"
