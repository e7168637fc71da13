"""Print the bytes installed for tuf and everything it needs to sign and download
(securesystemslib with its crypto extra, cryptography, urllib3, ...): the files each
distribution's RECORD lists, dependencies followed recursively. The interpreter itself
is not counted. Output: "BYTES DIST1 DIST2 ..." on one line.
"""

import os
import re
from importlib import metadata

ROOTS = ["tuf", "securesystemslib", "cryptography"]


def requirement_name(requirement):
    # Skip requirements that only apply under an extra or another platform/python.
    if ";" in requirement:
        marker = requirement.split(";", 1)[1]
        if "extra" in marker:
            return None
    return re.split(r"[\s\[<>=!~;(]", requirement.strip(), maxsplit=1)[0]


def main():
    seen = {}
    pending = list(ROOTS)
    while pending:
        name = pending.pop()
        key = name.lower().replace("_", "-")
        if key in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        seen[key] = dist
        for requirement in dist.requires or []:
            dep = requirement_name(requirement)
            if dep:
                pending.append(dep)
    total = 0
    for dist in seen.values():
        for file in dist.files or []:
            path = file.locate()
            if os.path.isfile(path):
                total += os.path.getsize(path)
    print(total, " ".join(sorted(seen)))


if __name__ == "__main__":
    main()
