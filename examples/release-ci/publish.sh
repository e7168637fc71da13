#!/usr/bin/env bash
# A release job (any CI system): publish a new system image for one device model, with a
# delta from the previous release, signed by online keys that never touch the CI disk.
#
#   REPO=/srv/tufota/repo MODEL=zte-x100 VERSION=1.3.0 PREVIOUS=1.2.0 SECURITY_VERSION=7 \
#   KEYS=/etc/tufota/public-keys SIGNER=/usr/local/bin/kms-sign \
#     bash publish.sh build/system.img
#
# KEYS holds the online roles' public keys (`repo-tool --json key show KEY > ROLE.pub.json`);
# SIGNER is a program that, given a role name, signs its stdin with that role's key in the
# HSM/KMS and prints the raw signature (see repo-tool/README.md "External signers").
#
# The repository directory is the one served by the web server (or synced to a bucket after
# this job). Root keys are not involved: they stay offline for the key ceremony.
set -euo pipefail
image="${1:?usage: publish.sh IMAGE}"
: "${REPO:?}" "${MODEL:?}" "${VERSION:?}" "${SECURITY_VERSION:?}" "${KEYS:?}" "${SIGNER:?}"

# Online keys behind external signers (an HSM or cloud KMS CLI in real life; openssl here).
# cmd:PUBLIC_KEY_FILE:PROGRAM ARGS — canonical bytes on stdin, raw signature on stdout.
keys=(
  "cmd:$KEYS/targets.pub.json:$SIGNER targets"
  "cmd:$KEYS/snapshot.pub.json:$SIGNER snapshot"
  "cmd:$KEYS/timestamp.pub.json:$SIGNER timestamp"
)

name="$MODEL/system/$VERSION/full.img"
delta=()
if [ -n "${PREVIOUS:-}" ]; then
  delta=(--delta-from "$MODEL/system/$PREVIOUS/full.img")
fi

repo-tool add "$REPO" "$image" --name "$name" \
  --device-model "$MODEL" --component system --version "$VERSION" \
  --security-version "$SECURITY_VERSION" --build "$(date -u +%Y-%m-%d)" \
  --rollout-percent "${ROLLOUT_PERCENT:-100}" "${delta[@]}"
repo-tool publish "$REPO" --key "${keys[@]}"
# Refuse to ship a repository a device would refuse, or one about to expire.
repo-tool verify "$REPO" --within 2d
repo-tool --json status "$REPO" > "status-$VERSION.json"
