#!/usr/bin/env bash
# Seeds the fuzz corpora with real signed metadata from python-tuf, so the fuzzers start
# from documents that pass signature checks and mutate from there.
#   bash fuzz/make-seeds.sh        (after scripts/setup-python.sh)
set -euo pipefail
cd "$(dirname "$0")"
fx="$(mktemp -d)"; trap 'rm -rf "$fx"' EXIT
../.venv/bin/python ../conformance-tests/python/make_fixtures.py "$fx" >/dev/null
mkdir -p corpus/metadata_parse corpus/trust_chain
for kt in ed25519 ecdsa rsa; do
  d="$fx/keytypes/$kt"
  for role in root timestamp snapshot targets; do cp "$d/$role.json" "corpus/metadata_parse/$kt-$role.json"; done
  # trust_chain input: root, timestamp, snapshot, targets separated by 0xFF bytes.
  { cat "$d/root.json"; printf '\xff'; cat "$d/timestamp.json"; printf '\xff'
    cat "$d/snapshot.json"; printf '\xff'; cat "$d/targets.json"; } > "corpus/trust_chain/$kt"
done
cp "$fx"/repo/metadata/*.json corpus/metadata_parse/
echo "seeded $(ls corpus/metadata_parse | wc -l) metadata and $(ls corpus/trust_chain | wc -l) chain inputs"
