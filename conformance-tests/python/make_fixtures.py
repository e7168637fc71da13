#!/usr/bin/env python3
"""Write TUF fixture repositories with python-tuf, for the Rust conformance tests.

Usage:  .venv/bin/python conformance-tests/python/make_fixtures.py OUT_DIR [--no-verify]

Needs the venv made by scripts/setup-python.sh (tuf==7.0.1, securesystemslib 1.x with
pyca/cryptography).  Writes:

  OUT/keytypes/{ed25519,ecdsa,rsa}/
      root.json timestamp.json snapshot.json targets.json   (signed envelopes)
      <role>.canonical   exact bytes python-tuf signed (OLPC canonical JSON of `signed`)
      <role>.keyid       key id of the single key that signed <role>.json (no newline)
  OUT/repo/
      metadata/1.root.json 2.root.json 3.root.json timestamp.json
               N.snapshot.json N.targets.json N.<delegated role>.json
      targets/<dir>/<sha256hex>.<basename> and <sha512hex>.<basename>
      expected.json      what a client that trusts 1.root.json must end up with

Keys are random on every run; everything else (dates, versions, target contents,
paths) is fixed.  Unless --no-verify is given, the script finally checks its own output:
every signature against its delegator, and the whole repository with python-tuf's own
client (ngclient.Updater) from 1.root.json, downloading every target.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from datetime import datetime, timezone

from securesystemslib.signer import CryptoSigner, Signer
from tuf.api.metadata import (
    DelegatedRole,
    Delegations,
    Key,
    Metadata,
    MetaFile,
    Role,
    Root,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import CanonicalJSONSerializer, JSONSerializer

EXPIRES = datetime(2099, 1, 1, 0, 0, 0, tzinfo=timezone.utc)
SPEC_VERSION = "1.0.31"  # what python-tuf 7 writes by default; set explicitly for stability
TOP_ROLES = ("root", "timestamp", "snapshot", "targets")

# The pretty form python-tuf (and its repositories) write: indent 1, sorted keys,
# ASCII-only (non-ASCII escaped as \\uXXXX).  Signatures cover the canonical form of
# `signed`, never these bytes.
FILE_SERIALIZER = JSONSerializer(compact=False)
CANONICAL = CanonicalJSONSerializer()

GENERATORS = {
    # CryptoSigner.generate_* (securesystemslib 1.x): new private key in memory,
    # .public_key is the TUF Key (keytype, scheme, keyval.public, keyid).
    "ed25519": CryptoSigner.generate_ed25519,  # keytype ed25519, scheme ed25519
    "ecdsa": CryptoSigner.generate_ecdsa,  # keytype ecdsa, scheme ecdsa-sha2-nistp256
    "rsa": CryptoSigner.generate_rsa,  # keytype rsa, scheme rsassa-pss-sha256, 3072 bit
}


def new_signer(keytype: str) -> Signer:
    return GENERATORS[keytype]()


def key_of(signer: Signer) -> Key:
    return signer.public_key


def write_bytes(path: str, data: bytes) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def metafile_for(md_bytes: bytes, version: int) -> MetaFile:
    """A snapshot/timestamp `meta` entry with the optional length and sha256 hash."""
    return MetaFile(
        version=version,
        length=len(md_bytes),
        hashes={"sha256": hashlib.sha256(md_bytes).hexdigest()},
    )


def sign(md: Metadata, *signers: Signer) -> Metadata:
    md.signatures.clear()
    for s in signers:
        md.sign(s, append=True)
    return md


# Fields a tufota target carries in `custom` (see DESIGN.md "Metadata conventions").
def tufota_custom(version: str, kind: str = "full", **extra) -> dict:
    custom = {
        "device_model": ["zte-x100", "zte-x100-rev2"],
        "component": "system",
        "version": version,
        "build": "2026-03-15",
        "type": kind,
        "security_version": 7,
        "rollout": {"percent": 10, "start": "2026-04-05T00:00:00Z"},
    }
    custom.update(extra)
    return custom


# ---------------------------------------------------------------------------
# a. one directory per key type: all four roles signed by keys of that type
# ---------------------------------------------------------------------------


def make_keytype_dir(out: str, keytype: str) -> None:
    d = os.path.join(out, "keytypes", keytype)
    os.makedirs(d, exist_ok=True)
    signers = {role: new_signer(keytype) for role in TOP_ROLES}

    root = Root(
        version=1,
        spec_version=SPEC_VERSION,
        expires=EXPIRES,
        # the files here are not laid out as a consistent-snapshot repository
        consistent_snapshot=False,
    )
    for role in TOP_ROLES:
        root.add_key(key_of(signers[role]), role)

    payload = b"tufota keytype fixture payload\n"
    target = TargetFile.from_data(
        "zte-x100/system/1.2.3/full.img", payload, ["sha256", "sha512"]
    )
    # `custom` lives in TargetFile.unrecognized_fields; a second, unknown key in the
    # same object must be kept too.
    target.unrecognized_fields["custom"] = tufota_custom("1.2.3")
    target.unrecognized_fields["x-target-extra"] = True
    targets = Targets(
        version=1,
        spec_version=SPEC_VERSION,
        expires=EXPIRES,
        targets={target.path: target},
        unrecognized_fields={
            "x-unknown": {"a": [1, "b"]},
            # Non-ASCII and characters canonical JSON must escape (" and \\): the
            # file has them as \\u escapes, the canonical bytes as raw UTF-8.
            "x-text": "grüße, \"quoted\" and back\\slash, 日本",
        },
    )

    mds: dict[str, Metadata] = {}
    mds["root"] = sign(Metadata(root), signers["root"])
    mds["targets"] = sign(Metadata(targets), signers["targets"])
    targets_bytes = mds["targets"].to_bytes(FILE_SERIALIZER)
    snapshot = Snapshot(
        version=1,
        spec_version=SPEC_VERSION,
        expires=EXPIRES,
        meta={"targets.json": metafile_for(targets_bytes, 1)},
    )
    mds["snapshot"] = sign(Metadata(snapshot), signers["snapshot"])
    snapshot_bytes = mds["snapshot"].to_bytes(FILE_SERIALIZER)
    timestamp = Timestamp(
        version=1,
        spec_version=SPEC_VERSION,
        expires=EXPIRES,
        snapshot_meta=metafile_for(snapshot_bytes, 1),
    )
    mds["timestamp"] = sign(Metadata(timestamp), signers["timestamp"])

    for role, md in mds.items():
        write_bytes(os.path.join(d, f"{role}.json"), md.to_bytes(FILE_SERIALIZER))
        write_bytes(os.path.join(d, f"{role}.canonical"), CANONICAL.serialize(md.signed))
        write_bytes(os.path.join(d, f"{role}.keyid"), signers[role].public_key.keyid.encode())


# ---------------------------------------------------------------------------
# b. a complete consistent-snapshot repository with root rotations and delegations
# ---------------------------------------------------------------------------


class Repo:
    def __init__(self, out: str):
        self.dir = os.path.join(out, "repo")
        self.meta_dir = os.path.join(self.dir, "metadata")
        self.targets_dir = os.path.join(self.dir, "targets")
        os.makedirs(self.meta_dir, exist_ok=True)
        os.makedirs(self.targets_dir, exist_ok=True)
        self.expected_targets: list[dict] = []

    def write_md(self, name: str, md: Metadata, versioned: bool = True) -> bytes:
        data = md.to_bytes(FILE_SERIALIZER)
        fname = f"{md.signed.version}.{name}.json" if versioned else f"{name}.json"
        write_bytes(os.path.join(self.meta_dir, fname), data)
        return data

    def add_target(self, role: str, targets: Targets, path: str, content: bytes,
                   custom: dict | None = None) -> None:
        """Add a target to `targets` and publish its bytes under both hash names."""
        tf = TargetFile.from_data(path, content, ["sha256", "sha512"])
        if custom is not None:
            tf.unrecognized_fields["custom"] = custom
        targets.targets[path] = tf
        dirname, _, basename = path.rpartition("/")
        for digest in tf.hashes.values():
            rel = f"{dirname}/{digest}.{basename}" if dirname else f"{digest}.{basename}"
            write_bytes(os.path.join(self.targets_dir, rel), content)
        self.expected_targets.append({
            "path": path,
            "role": role,
            "length": len(content),
            "sha256": hashlib.sha256(content).hexdigest(),
            "sha512": hashlib.sha512(content).hexdigest(),
            "custom": custom,
        })


def path_hash_bin(path: str) -> str:
    """First hex digit of sha256(target path): what path_hash_prefixes match."""
    return hashlib.sha256(path.encode()).hexdigest()[0]


def make_repo(out: str) -> dict:
    repo = Repo(out)

    # -- keys --------------------------------------------------------------------------
    root_v1 = new_signer("ed25519")
    # root v2/v3: three keys of three types, threshold 2
    root_a, root_b, root_c = new_signer("ed25519"), new_signer("ecdsa"), new_signer("rsa")
    targets_key = new_signer("ed25519")
    snapshot_old, timestamp_old = new_signer("ecdsa"), new_signer("ed25519")
    snapshot_new, timestamp_new = new_signer("ed25519"), new_signer("ecdsa")
    role1_key, role2_key, bins_key = new_signer("ed25519"), new_signer("rsa"), new_signer("ecdsa")

    # -- root v1: one root key, threshold 1 ---------------------------------------------
    root = Root(version=1, spec_version=SPEC_VERSION, expires=EXPIRES, consistent_snapshot=True)
    root.add_key(key_of(root_v1), "root")
    root.add_key(key_of(targets_key), "targets")
    root.add_key(key_of(snapshot_old), "snapshot")
    root.add_key(key_of(timestamp_old), "timestamp")
    repo.write_md("root", sign(Metadata(root), root_v1))

    # -- release 1 (under root v1) -------------------------------------------------------
    top = Targets(version=1, spec_version=SPEC_VERSION, expires=EXPIRES)
    full_122 = b"zte-x100 system image 1.2.2\n" * 64
    full_123 = b"zte-x100 system image 1.2.3\n" * 64
    delta = b"bsdiff-like patch 1.2.2 -> 1.2.3\n" * 8
    repo.add_target("targets", top, "zte-x100/system/1.2.2/full.img", full_122,
                    tufota_custom("1.2.2", security_version=6))
    repo.add_target("targets", top, "zte-x100/system/1.2.3/full.img", full_123,
                    tufota_custom("1.2.3"))
    repo.add_target("targets", top, "zte-x100/system/1.2.3/delta-from-1.2.2.bin", delta,
                    tufota_custom("1.2.3", "delta", delta={
                        "from_version": "1.2.2",
                        "from_sha256": hashlib.sha256(full_122).hexdigest(),
                        "format": "bsdiff4",
                        "to": "zte-x100/system/1.2.3/full.img",
                    }))
    # a plain (non-tufota) target: no custom at all
    repo.add_target("targets", top, "README.txt", b"plain TUF target without custom\n")

    # Delegations, searched in this order:
    #  role1: files/* (terminating).  python-tuf matches path patterns segment by
    #         segment ("*" never matches "/"), so files/deep/x needs its own pattern
    #         "files/*/*" to reach role1 and then role2.
    #  bins-0 / bins-1: hash-bin delegations by path_hash_prefixes (first hex digit
    #         of sha256(path): 0-7 / 8-f); they cover every path not taken above.
    top.delegations = Delegations(keys={}, roles={})
    for k in (role1_key, bins_key):
        top.delegations.keys[k.public_key.keyid] = key_of(k)
    top.delegations.roles["role1"] = DelegatedRole(
        name="role1", keyids=[role1_key.public_key.keyid], threshold=1,
        terminating=True, paths=["files/*", "files/*/*"])
    hex_digits = "0123456789abcdef"
    for i, prefixes in enumerate((hex_digits[:8], hex_digits[8:])):
        top.delegations.roles[f"bins-{i}"] = DelegatedRole(
            name=f"bins-{i}", keyids=[bins_key.public_key.keyid], threshold=1,
            terminating=False, path_hash_prefixes=list(prefixes))

    role1 = Targets(version=1, spec_version=SPEC_VERSION, expires=EXPIRES)
    repo.add_target("role1", role1, "files/a.txt", b"file a, signed by role1\n")
    role1.delegations = Delegations(
        keys={role2_key.public_key.keyid: key_of(role2_key)},
        roles={"role2": DelegatedRole(
            name="role2", keyids=[role2_key.public_key.keyid], threshold=1,
            terminating=False, paths=["files/deep/*"])},
    )

    role2 = Targets(version=1, spec_version=SPEC_VERSION, expires=EXPIRES)
    repo.add_target("role2", role2, "files/deep/b.txt", b"file b, signed by role2\n")

    # one target in each bin: pkgs/pN.bin for the first N whose hash falls in the bin
    bins = {0: Targets(version=1, spec_version=SPEC_VERSION, expires=EXPIRES),
            1: Targets(version=1, spec_version=SPEC_VERSION, expires=EXPIRES)}
    placed: set[int] = set()
    n = 0
    while len(placed) < 2:
        n += 1
        path = f"pkgs/p{n}.bin"
        b = 0 if path_hash_bin(path) in hex_digits[:8] else 1
        if b not in placed:
            placed.add(b)
            repo.add_target(f"bins-{b}", bins[b], path, f"package {n} in bins-{b}\n".encode())

    def publish(snapshot_version: int, timestamp_version: int, snap_signer: Signer,
                ts_signer: Signer, roles: dict[str, tuple[Metadata, bytes]]) -> None:
        snapshot = Snapshot(version=snapshot_version, spec_version=SPEC_VERSION,
                            expires=EXPIRES, meta={})
        for name, (md, data) in roles.items():
            snapshot.meta[f"{name}.json"] = metafile_for(data, md.signed.version)
        snap_md = sign(Metadata(snapshot), snap_signer)
        snap_bytes = repo.write_md("snapshot", snap_md)
        ts = Timestamp(version=timestamp_version, spec_version=SPEC_VERSION,
                       expires=EXPIRES, snapshot_meta=metafile_for(snap_bytes, snapshot_version))
        repo.write_md("timestamp", sign(Metadata(ts), ts_signer), versioned=False)

    def signed(name: str, t: Targets, signer: Signer) -> tuple[Metadata, bytes]:
        md = sign(Metadata(t), signer)
        return md, repo.write_md(name, md)

    published = {
        "targets": signed("targets", top, targets_key),
        "role1": signed("role1", role1, role1_key),
        "role2": signed("role2", role2, role2_key),
        "bins-0": signed("bins-0", bins[0], bins_key),
        "bins-1": signed("bins-1", bins[1], bins_key),
    }
    publish(1, 1, snapshot_old, timestamp_old, published)

    # -- root v2: new root keys (3 of them), threshold 1 -> 2 ---------------------------
    root.version = 2
    root.revoke_key(root_v1.public_key.keyid, "root")
    for k in (root_a, root_b, root_c):
        root.add_key(key_of(k), "root")
    root.roles["root"].threshold = 2
    # signed by a threshold of the old root (v1 key) and of the new one (2 of 3)
    repo.write_md("root", sign(Metadata(root), root_v1, root_a, root_b))

    # -- root v3: rotate timestamp and snapshot keys -------------------------------------
    root.version = 3
    root.revoke_key(snapshot_old.public_key.keyid, "snapshot")
    root.revoke_key(timestamp_old.public_key.keyid, "timestamp")
    root.add_key(key_of(snapshot_new), "snapshot")
    root.add_key(key_of(timestamp_new), "timestamp")
    # a different two of the three root keys
    repo.write_md("root", sign(Metadata(root), root_b, root_c))

    # -- release 2 (under root v3): new top-level target, new file for role2 ---------------
    top.version = 2
    full_124 = b"zte-x100 system image 1.2.4\n" * 64
    repo.add_target("targets", top, "zte-x100/system/1.2.4/full.img", full_124,
                    tufota_custom("1.2.4", security_version=8,
                                  rollout={"percent": 100, "start": "2026-05-01T00:00:00Z"}))
    role2.version = 2
    repo.add_target("role2", role2, "files/deep/c.txt", b"file c, signed by role2 in release 2\n")
    published["targets"] = signed("targets", top, targets_key)
    published["role2"] = signed("role2", role2, role2_key)
    publish(2, 2, snapshot_new, timestamp_new, published)

    expected = {
        "initial_root": "1.root.json",
        "metadata_dir": "metadata",
        "targets_dir": "targets",
        "consistent_snapshot": True,
        "expires": "2099-01-01T00:00:00Z",
        "final_versions": {
            "root": 3, "timestamp": 2, "snapshot": 2, "targets": 2,
            "role1": 1, "role2": 2, "bins-0": 1, "bins-1": 1,
        },
        "delegation_order": ["targets", "role1", "role2", "bins-0", "bins-1"],
        "targets": repo.expected_targets,
    }
    write_bytes(os.path.join(repo.dir, "expected.json"),
                (json.dumps(expected, indent=2, sort_keys=True) + "\n").encode())
    return expected


# ---------------------------------------------------------------------------
# self-check
# ---------------------------------------------------------------------------


def verify_keytypes(out: str) -> None:
    for kt in GENERATORS:
        d = os.path.join(out, "keytypes", kt)
        mds = {r: Metadata.from_file(os.path.join(d, f"{r}.json")) for r in TOP_ROLES}
        root = mds["root"]
        for role in TOP_ROLES:
            root.verify_delegate(role, mds[role])
            with open(os.path.join(d, f"{role}.canonical"), "rb") as f:
                assert f.read() == CANONICAL.serialize(mds[role].signed), (kt, role)
            with open(os.path.join(d, f"{role}.keyid")) as f:
                assert list(mds[role].signatures) == [f.read()], (kt, role)
            assert mds[role].signed.spec_version == SPEC_VERSION
        assert mds["targets"].signed.unrecognized_fields["x-unknown"] == {"a": [1, "b"]}


def verify_repo(out: str, expected: dict) -> None:
    from tuf.ngclient import Updater
    from tuf.ngclient.fetcher import FetcherInterface
    from tuf.api.exceptions import DownloadHTTPError

    repo_dir = os.path.join(out, "repo")

    class FileFetcher(FetcherInterface):
        """Serve `file://` URLs from disk (ngclient only speaks HTTP by default)."""

        def _fetch(self, url: str) -> Iterator[bytes]:
            path = url.removeprefix("file://")
            try:
                with open(path, "rb") as f:
                    data = f.read()
            except FileNotFoundError:
                raise DownloadHTTPError(f"{path} not found", 404) from None
            return iter([data])

    with open(os.path.join(repo_dir, "metadata", expected["initial_root"]), "rb") as f:
        bootstrap = f.read()
    with tempfile.TemporaryDirectory() as tmp:
        os.makedirs(os.path.join(tmp, "meta"), exist_ok=True)
        os.makedirs(os.path.join(tmp, "dl"), exist_ok=True)
        updater = Updater(
            metadata_dir=os.path.join(tmp, "meta"),
            metadata_base_url="file://" + os.path.join(repo_dir, "metadata") + "/",
            target_dir=os.path.join(tmp, "dl"),
            target_base_url="file://" + os.path.join(repo_dir, "targets") + "/",
            fetcher=FileFetcher(),
            bootstrap=bootstrap,
        )
        updater.refresh()
        for t in expected["targets"]:
            info = updater.get_targetinfo(t["path"])
            assert info is not None, f"python-tuf cannot find {t['path']}"
            assert info.hashes["sha256"] == t["sha256"], t["path"]
            got = updater.download_target(info, os.path.join(tmp, "dl", "x"))
            with open(got, "rb") as f:
                assert hashlib.sha256(f.read()).hexdigest() == t["sha256"]
        assert updater.get_targetinfo("files/nothing-here") is None
        with open(os.path.join(tmp, "meta", "root.json"), "rb") as f:
            assert Metadata.from_bytes(f.read()).signed.version == 3


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", help="output directory (created; keytypes/ and repo/ in it are replaced)")
    ap.add_argument("--no-verify", action="store_true",
                    help="skip the self-check with python-tuf's verifier and client")
    args = ap.parse_args()

    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    for sub in ("keytypes", "repo"):
        shutil.rmtree(os.path.join(out, sub), ignore_errors=True)

    for kt in GENERATORS:
        make_keytype_dir(out, kt)
    expected = make_repo(out)
    if not args.no_verify:
        verify_keytypes(out)
        verify_repo(out, expected)
    print(f"make_fixtures: wrote {out}/keytypes/{{{','.join(GENERATORS)}}} and {out}/repo"
          + ("" if args.no_verify else " (verified with python-tuf)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
