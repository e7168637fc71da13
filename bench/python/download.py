"""Refresh and download targets with python-tuf's ngclient (tufota bench).

Usage: download.py ROOT METADATA_DIR BASE_URL TARGET_DIR NAME...
ROOT is the trusted root (given to the Updater as `bootstrap`, python-tuf 7's way to pass
the initial root); METADATA_DIR is where ngclient keeps verified metadata; BASE_URL serves
/metadata/ and /targets/. Exits non-zero if a target is not found or does not verify.
"""

import sys

from tuf.ngclient import Updater


def main():
    if len(sys.argv) < 6:
        sys.exit(__doc__)
    root, metadata_dir, base_url, target_dir = sys.argv[1:5]
    with open(root, "rb") as f:
        bootstrap = f.read()
    updater = Updater(
        metadata_dir=metadata_dir,
        metadata_base_url=f"{base_url}/metadata/",
        target_dir=target_dir,
        target_base_url=f"{base_url}/targets/",
        bootstrap=bootstrap,
    )
    updater.refresh()
    for name in sys.argv[5:]:
        info = updater.get_targetinfo(name)
        if info is None:
            sys.exit(f"target {name} not found")
        updater.download_target(info)


if __name__ == "__main__":
    main()
