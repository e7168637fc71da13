#!/usr/bin/env bash
# The main job, end to end on loopback: build the tools, publish release 1.0 and 1.1 (full and
# delta) for one device model with the demo keys, serve the repository on 127.0.0.1, and take
# a simulated A/B device from 1.0 to 1.1 through the delta: update, reboot, confirm.
#
#   bash scripts/demo.sh [WORKDIR]      (default: a fresh temporary directory, kept afterwards)
set -euo pipefail
cd "$(dirname "$0")/.."
top="$PWD"
work="${1:-$(mktemp -d /tmp/tufota-demo.XXXXXX)}"
mkdir -p "$work"
work="$(cd "$work" && pwd)"
keys="$top/keys-example"
model="sim-1"

say() { printf '\n== %s\n' "$*"; }
bytes() { stat -c %s "$1"; }
human() { numfmt --to=iec-i --suffix=B "$1" 2>/dev/null || echo "$1 B"; }
now_ms() { date +%s%3N; }

say "building repo-tool and tufota-client (release)"
t0=$(now_ms)
cargo build --release --locked -p repo-tool -p tufota-client 2>&1 | tail -n 1
bin="$top/target/release"
repo_tool="$bin/repo-tool"
client="$bin/tufota-client"
echo "built in $(( ($(now_ms) - t0) / 1000 )) s; tufota-client is $(human "$(bytes "$client")")"

say "making two releases of a 32 MiB system image"
img="$work/images"
mkdir -p "$img"
# Release 1.0: deterministic pseudo-random bytes (incompressible, like a real image).
pseudo_random() { # pseudo_random KEY_HEX BYTES: AES-CTR keystream, the same on every machine
  head -c "$2" /dev/zero | openssl enc -aes-128-ctr -nosalt -K "$1" -iv 00000000000000000000000000000000
}
pseudo_random 000102030405060708090a0b0c0d0e0f $((32 << 20)) > "$img/system-1.0.img"
# Release 1.1: 1.0 with a rewritten 512 KiB region, a few patched bytes and 256 KiB appended.
cp "$img/system-1.0.img" "$img/system-1.1.img"
pseudo_random 0f0e0d0c0b0a09080706050403020100 $((768 << 10)) > "$img/new-bytes"
dd if="$img/new-bytes" of="$img/system-1.1.img" bs=1024 seek=8192 count=512 conv=notrunc status=none
printf 'tufota system 1.1' | dd of="$img/system-1.1.img" bs=1 seek=1000000 conv=notrunc status=none
tail -c $((256 << 10)) "$img/new-bytes" >> "$img/system-1.1.img"
rm "$img/new-bytes"
ls -l "$img"

say "creating the repository (root 2-of-3, demo keys from keys-example/)"
repo="$work/repo"
rm -rf "$repo"
"$repo_tool" init "$repo" \
  --root-key "$keys/root-1.pem" "$keys/root-2.pem" "$keys/root-3.pem" --root-threshold 2 \
  --targets-key "$keys/targets.pem" --snapshot-key "$keys/snapshot.pem" \
  --timestamp-key "$keys/timestamp.pem"
online=("$keys/targets.pem" "$keys/snapshot.pem" "$keys/timestamp.pem")

say "publishing release 1.0"
"$repo_tool" add "$repo" "$img/system-1.0.img" --name "$model/system/1.0/full.img" \
  --device-model "$model" --component system --version 1.0 --security-version 1
"$repo_tool" publish "$repo" --key "${online[@]}"

say "publishing release 1.1: full image and a delta from 1.0"
t0=$(now_ms)
"$repo_tool" add "$repo" "$img/system-1.1.img" --name "$model/system/1.1/full.img" \
  --device-model "$model" --component system --version 1.1 --security-version 1 \
  --delta-from "$model/system/1.0/full.img"
"$repo_tool" publish "$repo" --key "${online[@]}"
echo "added and published in $(( $(now_ms) - t0 )) ms"
"$repo_tool" verify "$repo"
"$repo_tool" status "$repo"

say "serving the repository on 127.0.0.1"
"$repo_tool" serve "$repo" --addr 127.0.0.1:0 > "$work/serve.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
url=""
for _ in $(seq 1 100); do
  url=$(sed -n 's/^serving .* on \(http:\/\/[0-9.:]*\).*/\1/p' "$work/serve.log" | head -n 1)
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { echo "repo-tool serve did not start:"; cat "$work/serve.log"; exit 1; }
echo "$url"

say "a simulated A/B device running 1.0 from the factory"
dev="$work/device"
rm -rf "$dev"
mkdir -p "$dev/slots"
cp "$img/system-1.0.img" "$dev/slots/slot-a.img"
cat > "$dev/device.toml" <<EOF
device_id = "demo-0001"
model = "$model"
region = "lab"
metadata_dir = "$dev/metadata"
state_dir = "$dev/state"

[mirrors]
metadata = "$url/metadata/"
targets = "$url/targets/"

[components.system]
version = "1.0"
security_version = 1
[components.system.slots]
backend = "files"
dir = "$dev/slots"
EOF
# The device trusts root version 1, shipped with it at the factory.
"$client" --metadata-dir "$dev/metadata" init "$repo/metadata/1.root.json"
"$client" --config "$dev/device.toml" status

say "check: what the device would install, and why"
"$client" --config "$dev/device.toml" check | tee "$work/check.txt"
grep -q "delta" "$work/check.txt" || { echo "the device did not choose the delta" >&2; exit 1; }

say "update: refresh the TUF chain, stream the delta into the inactive slot, arm it"
t0=$(now_ms)
"$client" --config "$dev/device.toml" update
update_ms=$(( $(now_ms) - t0 ))
"$client" --config "$dev/device.toml" status

say "reboot (simulated bootloader: try the new slot once)"
"$client" --config "$dev/device.toml" boot

say "confirm: the new slot booted, mark it good"
"$client" --config "$dev/device.toml" confirm
"$client" --config "$dev/device.toml" status

say "result"
delta_file=$(find "$repo/targets/$model/system/1.1" -name '*.from-1.0.delta' | head -n 1)
full_file=$(find "$repo/targets/$model/system/1.1" -name '*.full.img' | head -n 1)
[ -n "$delta_file" ] && [ -n "$full_file" ] || { echo "release 1.1 was not published with a delta" >&2; exit 1; }
active=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["active"])' "$dev/slots/bootenv.json" 2>/dev/null || echo "?")
echo "full image 1.1: $(human "$(bytes "$full_file")"); delta from 1.0: $(human "$(bytes "$delta_file")") ($(( 100 * $(bytes "$delta_file") / $(bytes "$full_file") ))% of full)"
echo "update (refresh + delta apply + sync) took $update_ms ms"
echo "active slot: $active"
if cmp -s "$dev/slots/slot-$active.img" "$img/system-1.1.img"; then
  echo "device confirmed on 1.1: the active slot is byte-identical to release 1.1"
else
  echo "the active slot does not hold release 1.1" >&2
  exit 1
fi
echo "work directory: $work"
