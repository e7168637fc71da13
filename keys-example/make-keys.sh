#!/bin/sh
# Regenerate the throwaway demo keys in this directory.
#
# THESE KEYS ARE PUBLIC. They exist for the demo and the tests only and must
# never sign anything for a real device fleet.
#
# Every key is a PKCS#8 PEM private key ("-----BEGIN PRIVATE KEY-----") made by
# `openssl genpkey`; the public half is derived with `openssl pkey -pubout`.
#
# Usage: keys-example/make-keys.sh      (overwrites the existing *.pem files)
set -eu
cd "$(dirname "$0")"

ed25519() {   # file
    openssl genpkey -algorithm ed25519 -out "$1"
}
p256() {      # file  (ecdsa, NIST P-256 / prime256v1 => scheme ecdsa-sha2-nistp256)
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -pkeyopt ec_param_enc:named_curve -out "$1"
}

umask 077
ed25519 root-1.pem
ed25519 root-2.pem
p256    root-3.pem
ed25519 targets.pem
ed25519 snapshot.pem
p256    timestamp.pem
ed25519 bins.pem
ed25519 components.pem
chmod 644 ./*.pem   # public demo material; readable on purpose

for f in ./*.pem; do
    head -n 1 "$f" | grep -qx -- '-----BEGIN PRIVATE KEY-----' || { echo "make-keys: $f is not PKCS#8 PEM" >&2; exit 1; }
done
echo "make-keys: wrote root-1 root-2 root-3 targets snapshot timestamp bins components (.pem) in $(pwd)"
