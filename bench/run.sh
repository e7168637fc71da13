#!/bin/sh
# tufota vs peers (issue #8): builds repo-tool and tufota-client in release, installs the
# peers (tuftool from crates.io into bench/.peers, python-tuf from PyPI into bench/.venv),
# then runs the bench binary, which prints markdown tables (saved to bench/last-run.md,
# then shown; progress and each table as it is done go to stderr).
# Not run in CI. Takes several minutes; the 100k-target tuftool run dominates.
#
# Usage: bash bench/run.sh [tufota-bench options, e.g. --sizes 1000,10000 --runs 5]
# Environment: PYTHON (interpreter for the venv, default python3).
set -eu

TUF_VERSION="7.0.1"          # as scripts/setup-python.sh
TUFTOOL_VERSION="0.17.0"
PYTHON="${PYTHON:-python3}"

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BENCH="$ROOT/bench"
PEERS="$BENCH/.peers"
VENV="$BENCH/.venv"

say() { echo "bench/run.sh: $*" >&2; }

# GNU time gives each process's peak RSS (ru_maxrss from wait4).
if ! /usr/bin/time -f %M true >/dev/null 2>&1; then
    say "installing GNU time (apt)"
    if [ "$(id -u)" -eq 0 ]; then apt-get install -y time >&2; else sudo apt-get install -y time >&2; fi
fi

if [ -x "$PEERS/bin/tuftool" ] && "$PEERS/bin/tuftool" --version | grep -q "$TUFTOOL_VERSION"; then
    say "tuftool $TUFTOOL_VERSION already in $PEERS"
else
    say "installing tuftool $TUFTOOL_VERSION into $PEERS (long: it builds the AWS SDK)"
    cargo install tuftool --version "$TUFTOOL_VERSION" --locked --root "$PEERS" >&2
fi

if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "import sys, tuf, cryptography; sys.exit(tuf.__version__ != '$TUF_VERSION')" 2>/dev/null; then
    say "python-tuf $TUF_VERSION already in $VENV"
else
    say "installing python-tuf $TUF_VERSION into $VENV"
    [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install --disable-pip-version-check --quiet "tuf==$TUF_VERSION" "securesystemslib[crypto]" >&2
fi

say "building repo-tool, tufota-client (release) and the bench"
cargo build --release --manifest-path "$ROOT/Cargo.toml" -p repo-tool -p tufota-client -p tufota-bench >&2
TARGET_DIR="$(cargo metadata --manifest-path "$ROOT/Cargo.toml" --format-version 1 --no-deps \
    | "$VENV/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
RELEASE="$TARGET_DIR/release"

"$RELEASE/tufota-bench" \
    --repo-tool "$RELEASE/repo-tool" \
    --client "$RELEASE/tufota-client" \
    --tuftool "$PEERS/bin/tuftool" \
    --python "$VENV/bin/python" \
    --python-scripts "$BENCH/python" \
    --work "$BENCH/.work" \
    "$@" >"$BENCH/last-run.md"
cat "$BENCH/last-run.md"
