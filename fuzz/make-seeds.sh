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
# go-tuf's documents (RSA-PSS signatures with the longest salt among them) and its chain.
for v in consistent plain; do
  g=../conformance-tests/fixtures/go-tuf/$v/repository
  for f in "$g"/*.json; do cp "$f" "corpus/metadata_parse/go-tuf-$v-$(basename "$f")"; done
  { cat "$g/1.root.json"; printf '\xff'; cat "$g/timestamp.json"; printf '\xff'
    cat "$g/snapshot.json"; printf '\xff'; cat "$g/targets.json"; } > "corpus/trust_chain/go-tuf-$v"
done
echo "seeded $(ls corpus/metadata_parse | wc -l) metadata and $(ls corpus/trust_chain | wc -l) chain inputs"

# delta_apply: real patches against the fuzz target's fixed bases (4 KiB and 5 MiB), so
# mutations reach the record decoder instead of stopping at the base-hash check.
mkdir -p corpus/delta_apply
python3 - "$fx" <<'PY'
import sys
d = sys.argv[1]
base = bytes(((i * 2654435761) & 0xFFFFFFFF) >> 13 & 0xFF for i in range(4096))
open(f"{d}/base", "wb").write(base)
new1 = bytearray(base); new1[100:140] = b"tufota fuzz seed: a changed region here"[:40]
open(f"{d}/new1", "wb").write(bytes(new1))
open(f"{d}/new2", "wb").write(base[:1000] + b"inserted bytes" * 20 + base[1000:3000])
open(f"{d}/new3", "wb").write(b"")
# A 5 MiB base (the target's large one) and a result whose 64 KiB blocks come from far-apart
# places in it, so patches move data across the 3 MiB base window.
big = bytes(((i * 2654435761) & 0xFFFFFFFF) >> 13 & 0xFF for i in range(5 << 20))
open(f"{d}/base4", "wb").write(big)
blocks = [big[i:i + 65536] for i in range(0, len(big), 65536)]
order = [(k * 37) % len(blocks) for k in range(len(blocks))]
open(f"{d}/new4", "wb").write(b"".join(blocks[k][:60000] + b"edit" for k in order))
PY
(cd .. && cargo build -q --release -p tufota-delta --features cli)
for n in 1 2 3 4; do
  base="$fx/base"; [ "$n" = 4 ] && base="$fx/base4"
  # Both body codecs: LZMA2 (algorithm 1) and zstd (algorithm 2).
  for codec in lzma2 zstd; do
    ../target/release/tufota-delta diff --codec "$codec" "$base" "$fx/new$n" \
      "corpus/delta_apply/seed$n-$codec" >/dev/null
  done
done
echo "seeded $(ls corpus/delta_apply | wc -l) delta patches"

# staged_document: real drafts and a staged root as repo-tool leaves them in staged/ between
# commands (init, delegate, add, root add-key; a signed copy of the staged root).
mkdir -p corpus/staged_document
(cd .. && cargo build -q -p repo-tool)
rt=../target/debug/repo-tool k=../keys-example r="$fx/staged-repo"
"$rt" init "$r" --root-key "$k/root-1.pem" "$k/root-2.pem" --root-threshold 2 \
  --targets-key "$k/targets.pem" --snapshot-key "$k/snapshot.pem" --timestamp-key "$k/timestamp.pem" >/dev/null
"$rt" publish "$r" --key "$k/targets.pem" "$k/snapshot.pem" "$k/timestamp.pem" >/dev/null
"$rt" delegate "$r" --to components --key "$k/components.pem" --paths 'components/*' >/dev/null
"$rt" delegate "$r" --to bins --key "$k/bins.pem" --hash-bins 4 >/dev/null
printf 'firmware 1.0' > "$fx/fw.img"; printf 'a component' > "$fx/comp.bin"
"$rt" add "$r" "$fx/fw.img" --name sim-1/system/1.0/full.img --version 1.0 --device-model sim-1 \
  --rollout-percent 50 >/dev/null
"$rt" add "$r" "$fx/comp.bin" --name components/comp.bin --custom '{"note": "seed"}' >/dev/null
for f in "$r"/staged/*.json; do cp "$f" "corpus/staged_document/draft-$(basename "$f")"; done
"$rt" root add-key "$r" --role root "$k/root-3.pem" >/dev/null
cp "$r/staged/root.json" corpus/staged_document/root-unsigned.json
"$rt" sign "$r/staged/root.json" --key "$k/root-1.pem" "$k/root-3.pem" >/dev/null
cp "$r/staged/root.json" corpus/staged_document/root-signed.json
echo "seeded $(ls corpus/staged_document | wc -l) staged documents"
