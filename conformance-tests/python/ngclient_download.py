#!/usr/bin/env python3
"""Refresh a repository with python-tuf's ngclient and download targets.

Usage: ngclient_download.py BASE_URL TRUSTED_ROOT WORKDIR TARGET_PATH...

BASE_URL serves /metadata/ and /targets/ (repo-tool serve). TRUSTED_ROOT is the root a
device ships with (1.root.json); ngclient follows every rotation from it. Each target is
looked up by the delegation search and downloaded (ngclient checks length and hashes).
Prints one JSON object: the trusted root version, the role that listed each target, and the
sha256 of each downloaded file. Any failure raises, so the exit status is non-zero.
"""

import hashlib
import json
import os
import sys

from tuf.ngclient import Updater


def main() -> None:
    base_url, trusted_root, workdir, *targets = sys.argv[1:]
    metadata_dir = os.path.join(workdir, "metadata")
    download_dir = os.path.join(workdir, "downloads")
    os.makedirs(metadata_dir, exist_ok=True)
    os.makedirs(download_dir, exist_ok=True)
    with open(trusted_root, "rb") as f:
        root_bytes = f.read()

    updater = Updater(
        metadata_dir=metadata_dir,
        metadata_base_url=f"{base_url}/metadata/",
        target_base_url=f"{base_url}/targets/",
        target_dir=download_dir,
        bootstrap=root_bytes,
    )
    updater.refresh()
    result = {
        "root_version": updater._trusted_set.root.version,
        "timestamp_version": updater._trusted_set.timestamp.version,
        "targets": {},
    }
    for path in targets:
        info = updater.get_targetinfo(path)
        if info is None:
            raise SystemExit(f"target {path!r} not found by the delegation search")
        local = os.path.join(download_dir, path.replace("/", "_"))
        updater.download_target(info, filepath=local)
        with open(local, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        result["targets"][path] = {"sha256": digest, "length": info.length, "custom": info.custom}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
