"""Refresh and download targets with python-tuf's ngclient (tufota bench).

Usage: download.py METADATA_DIR BASE_URL TARGET_DIR NAME...
METADATA_DIR holds the trusted root.json; BASE_URL serves /metadata/ and /targets/.
Exits non-zero if a target is not found or does not verify.
"""

import sys

from tuf.ngclient import Updater


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    metadata_dir, base_url, target_dir = sys.argv[1:4]
    updater = Updater(
        metadata_dir=metadata_dir,
        metadata_base_url=f"{base_url}/metadata/",
        target_dir=target_dir,
        target_base_url=f"{base_url}/targets/",
    )
    updater.refresh()
    for name in sys.argv[4:]:
        info = updater.get_targetinfo(name)
        if info is None:
            sys.exit(f"target {name} not found")
        updater.download_target(info)


if __name__ == "__main__":
    main()
