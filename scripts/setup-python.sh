#!/bin/sh
# Create (or reuse) the Python virtual environment used by the conformance
# fixtures: <repo>/.venv with python-tuf pinned. tuf itself only requires
# securesystemslib~=1.0, which does NOT pull pyca/cryptography; key generation
# and signing (CryptoSigner) need it, so the 'crypto' extra is installed too.
# Idempotent: does nothing when the venv already has the right tuf version and
# cryptography. Prints one line saying what it did.
#
# Usage: scripts/setup-python.sh        (PYTHON=python3.11 to pick an interpreter)
set -eu

TUF_VERSION="7.0.1"
PYTHON="${PYTHON:-python3}"

REPO="$(cd "$(dirname "$0")/.." && pwd)"
VENV="$REPO/.venv"
VPY="$VENV/bin/python"

check() {
    "$VPY" -c "import sys, tuf, tuf.api.metadata, cryptography; sys.exit(0 if tuf.__version__ == '$TUF_VERSION' else 1)" \
        >/dev/null 2>&1
}

if [ -x "$VPY" ] && check; then
    echo "setup-python: $VENV already has tuf $TUF_VERSION, nothing to do"
    exit 0
fi

created="reused"
if [ ! -x "$VPY" ]; then
    "$PYTHON" -m venv "$VENV"
    created="created"
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! "$VPY" -m pip install --disable-pip-version-check --quiet "tuf==$TUF_VERSION" "securesystemslib[crypto]" >"$log" 2>&1; then
    cat "$log" >&2
    echo "setup-python: pip install tuf==$TUF_VERSION into $VENV failed" >&2
    exit 1
fi
if ! check; then
    echo "setup-python: tuf $TUF_VERSION installed into $VENV but 'import tuf.api.metadata, cryptography' fails" >&2
    exit 1
fi

versions="$("$VPY" -c 'import securesystemslib, cryptography; print("securesystemslib", securesystemslib.__version__ + ",", "cryptography", cryptography.__version__)' 2>/dev/null || echo '?')"
echo "setup-python: $created $VENV and installed tuf $TUF_VERSION ($versions)"
