"""Create and sign a TUF repository with python-tuf's Metadata API (tufota bench).

The same job repo-tool (init, add, publish) and tuftool (root ..., create) do in the bench:
root, targets, snapshot and timestamp, version 1, consistent snapshots, every file of
TARGETS_DIR listed with its length and sha256, each role signed by its own ed25519 key, and
the target files hard-linked into OUT/targets/ under their consistent-snapshot names
(HASH.NAME), so OUT is a repository a client can be pointed at.

Usage: create_repo.py TARGETS_DIR OUT DAYS ROOT.pem TARGETS.pem SNAPSHOT.pem TIMESTAMP.pem
Every role expires DAYS days from now (as `repo-tool init --expires ROLE=DAYSd` and
tuftool's `'in DAYS days'`).
"""

import hashlib
import os
import sys
from datetime import datetime, timedelta, timezone

from cryptography.hazmat.primitives.serialization import load_pem_private_key
from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import (
    MetaFile,
    Metadata,
    Root,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer


def load_signer(path):
    with open(path, "rb") as f:
        return CryptoSigner(load_pem_private_key(f.read(), password=None))


def main():
    if len(sys.argv) != 8:
        sys.exit(__doc__)
    targets_dir, out, days = sys.argv[1:4]
    signers = dict(zip(["root", "targets", "snapshot", "timestamp"], map(load_signer, sys.argv[4:8])))
    expires = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=int(days))

    metadata_dir = os.path.join(out, "metadata")
    published_targets = os.path.join(out, "targets")
    os.makedirs(metadata_dir)
    os.makedirs(published_targets)
    serializer = JSONSerializer()

    def write(metadata, filename):
        metadata.sign(signers[metadata.signed.type])
        data = metadata.to_bytes(serializer)
        with open(os.path.join(metadata_dir, filename), "wb") as f:
            f.write(data)
        return data

    root = Root(expires=expires, consistent_snapshot=True)
    for role, signer in signers.items():
        root.add_key(signer.public_key, role)
    root_bytes = write(Metadata(root), "1.root.json")
    with open(os.path.join(metadata_dir, "root.json"), "wb") as f:
        f.write(root_bytes)

    targets = Targets(expires=expires)
    for name in sorted(os.listdir(targets_dir)):
        local = os.path.join(targets_dir, name)
        target = TargetFile.from_file(name, local, ["sha256"])
        targets.targets[name] = target
        os.link(local, os.path.join(published_targets, f"{target.hashes['sha256']}.{name}"))
    write(Metadata(targets), "1.targets.json")

    snapshot = Snapshot(expires=expires)
    snapshot.meta["targets.json"] = MetaFile(version=1)
    snapshot_bytes = write(Metadata(snapshot), "1.snapshot.json")

    timestamp = Timestamp(expires=expires)
    timestamp.snapshot_meta = MetaFile(
        version=1,
        length=len(snapshot_bytes),
        hashes={"sha256": hashlib.sha256(snapshot_bytes).hexdigest()},
    )
    write(Metadata(timestamp), "timestamp.json")


if __name__ == "__main__":
    main()
