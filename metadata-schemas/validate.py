#!/usr/bin/env python3
"""Validate TUF metadata files against the tufota JSON Schemas in this directory.

Usage:
  python3 validate.py FILE...                 schema picked from signed._type
  python3 validate.py --schema NAME FILE...   NAME = root|targets|snapshot|timestamp|target-custom
  python3 validate.py --self-test FIXTURES    validate every python-tuf document written by
                                              conformance-tests/python/make_fixtures.py
                                              into FIXTURES, and check that broken
                                              variants are rejected

Needs the `jsonschema` package (>= 4.18, for `referencing`); it is not part of the
project's .venv — install it anywhere, e.g.
  python3 -m venv /tmp/jsv && /tmp/jsv/bin/pip install jsonschema
Exit status: 0 all valid (or self-test passed), 1 otherwise.
"""

from __future__ import annotations

import argparse
import copy
import signal
import glob
import json
import os
import sys

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

HERE = os.path.dirname(os.path.abspath(__file__))
NAMES = ("root", "targets", "snapshot", "timestamp", "target-custom", "common")


def load_validators() -> dict[str, Draft202012Validator]:
    resources = []
    schemas = {}
    for name in NAMES:
        with open(os.path.join(HERE, f"{name}.json")) as f:
            schema = json.load(f)
        Draft202012Validator.check_schema(schema)
        schemas[name] = schema
        resources.append((schema["$id"], Resource.from_contents(schema)))
    registry = Registry().with_resources(resources)
    return {
        name: Draft202012Validator(schemas[name], registry=registry)
        for name in NAMES
        if name != "common"
    }


def errors_of(validator: Draft202012Validator, doc) -> list[str]:
    out = []
    for e in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in e.absolute_path) or "(document)"
        out.append(f"{where}: {e.message}")
    return out


def schema_for(doc) -> str | None:
    t = doc.get("signed", {}).get("_type") if isinstance(doc, dict) else None
    return t if t in ("root", "targets", "snapshot", "timestamp") else None


def validate_files(validators, files: list[str], schema: str | None) -> bool:
    ok = True
    for path in files:
        with open(path, "rb") as f:
            doc = json.loads(f.read())
        name = schema or schema_for(doc)
        if name is None:
            print(f"{path}: cannot tell the role (no known signed._type); use --schema")
            ok = False
            continue
        errs = errors_of(validators[name], doc)
        if errs:
            ok = False
            for e in errs:
                print(f"{path}: INVALID ({name}): {e}")
        else:
            print(f"{path}: valid ({name})")
    return ok


# --- self-test ------------------------------------------------------------------------


def _signed(doc):
    return doc["signed"]


def broken_variants(name: str, doc) -> list[tuple[str, object]]:
    """(description, mutated copy) pairs that must NOT validate."""
    cases = []

    def case(desc, mutate):
        d = copy.deepcopy(doc)
        mutate(d)
        cases.append((desc, d))

    case("version 0", lambda d: _signed(d).__setitem__("version", 0))
    case("version as string", lambda d: _signed(d).__setitem__("version", "1"))
    case("expires with fractional seconds",
         lambda d: _signed(d).__setitem__("expires", "2099-01-01T00:00:00.123Z"))
    case("expires with offset",
         lambda d: _signed(d).__setitem__("expires", "2099-01-01T00:00:00+00:00"))
    case("spec_version 2.0.0", lambda d: _signed(d).__setitem__("spec_version", "2.0.0"))
    case("missing _type", lambda d: _signed(d).pop("_type"))
    case("wrong _type", lambda d: _signed(d).__setitem__("_type", "mirrors"))
    case("missing signatures", lambda d: d.pop("signatures"))
    case("signature without sig", lambda d: d["signatures"].append({"keyid": "ab"}))
    case("non-hex sig", lambda d: d["signatures"].append({"keyid": "ab", "sig": "xyz"}))

    s = _signed(doc)
    if name == "root":
        role = "root"
        case("missing threshold", lambda d: _signed(d)["roles"][role].pop("threshold"))
        case("threshold 0", lambda d: _signed(d)["roles"][role].__setitem__("threshold", 0))
        case("missing timestamp role", lambda d: _signed(d)["roles"].pop("timestamp"))
        case("missing consistent_snapshot", lambda d: _signed(d).pop("consistent_snapshot"))
        kid = next(iter(s["keys"]))
        case("key without keyval.public",
             lambda d: _signed(d)["keys"][kid]["keyval"].pop("public"))
        case("key without scheme", lambda d: _signed(d)["keys"][kid].pop("scheme"))
        case("duplicate keyids",
             lambda d: _signed(d)["roles"][role]["keyids"].append(
                 _signed(d)["roles"][role]["keyids"][0]))
    elif name == "timestamp":
        case("snapshot meta version 0",
             lambda d: _signed(d)["meta"]["snapshot.json"].__setitem__("version", 0))
        case("snapshot meta negative length",
             lambda d: _signed(d)["meta"]["snapshot.json"].__setitem__("length", -1))
        case("extra meta entry",
             lambda d: _signed(d)["meta"].__setitem__("targets.json", {"version": 1}))
        case("no snapshot.json", lambda d: _signed(d).__setitem__("meta", {}))
    elif name == "snapshot":
        case("targets meta without version",
             lambda d: _signed(d)["meta"]["targets.json"].pop("version"))
        case("non-hex hash",
             lambda d: _signed(d)["meta"]["targets.json"].__setitem__("hashes", {"sha256": "zz"}))
        case("no targets.json", lambda d: _signed(d)["meta"].pop("targets.json"))
    elif name == "targets":
        if s["targets"]:
            path = next(iter(s["targets"]))
            case("target without hashes", lambda d: _signed(d)["targets"][path].pop("hashes"))
            case("target without length", lambda d: _signed(d)["targets"][path].pop("length"))
            case("target with empty hashes",
                 lambda d: _signed(d)["targets"][path].__setitem__("hashes", {}))
            case("custom not an object",
                 lambda d: _signed(d)["targets"][path].__setitem__("custom", ["x"]))
            case("custom type bogus",
                 lambda d: _signed(d)["targets"][path].__setitem__("custom", {"type": "patch"}))
            case("custom security_version -1",
                 lambda d: _signed(d)["targets"][path].__setitem__(
                     "custom", {"security_version": -1}))
            case("custom rollout 101%",
                 lambda d: _signed(d)["targets"][path].__setitem__(
                     "custom", {"rollout": {"percent": 101}}))
            case("custom delta bad from_sha256",
                 lambda d: _signed(d)["targets"][path].__setitem__(
                     "custom", {"type": "delta", "delta": {
                         "from_version": "1", "from_sha256": "AB" * 32,
                         "format": "bsdiff4", "to": "x"}}))
            case("custom delta without type",
                 lambda d: _signed(d)["targets"][path].__setitem__(
                     "custom", {"delta": {
                         "from_version": "1", "from_sha256": "ab" * 32,
                         "format": "bsdiff4", "to": "x"}}))
            case("custom type delta without delta",
                 lambda d: _signed(d)["targets"][path].__setitem__(
                     "custom", {"type": "delta"}))
            case("custom device_model a string",
                 lambda d: _signed(d)["targets"][path].__setitem__(
                     "custom", {"device_model": "zte-x100"}))
        if "delegations" in s and s["delegations"].get("roles"):
            case("delegated role missing threshold",
                 lambda d: _signed(d)["delegations"]["roles"][0].pop("threshold"))
            case("delegated role missing terminating",
                 lambda d: _signed(d)["delegations"]["roles"][0].pop("terminating"))
            case("delegated role with both paths and path_hash_prefixes",
                 lambda d: _signed(d)["delegations"]["roles"][0].update(
                     paths=["a/*"], path_hash_prefixes=["0"]))
            case("delegated role with neither paths nor path_hash_prefixes",
                 lambda d: [_signed(d)["delegations"]["roles"][0].pop(k, None)
                            for k in ("paths", "path_hash_prefixes")])
            case("delegations with roles and succinct_roles",
                 lambda d: _signed(d)["delegations"].__setitem__("succinct_roles", {
                     "keyids": [], "threshold": 1, "bit_length": 4, "name_prefix": "bin"}))
    return cases


def valid_variants(name: str, doc) -> list[tuple[str, object]]:
    """(description, mutated copy) pairs that MUST still validate."""
    cases = []

    def case(desc, mutate):
        d = copy.deepcopy(doc)
        mutate(d)
        cases.append((desc, d))

    case("unknown field in signed", lambda d: _signed(d).__setitem__("x-new", {"k": [1]}))
    case("unknown field in envelope", lambda d: d.__setitem__("x-env", 1))
    case("spec_version 1.0", lambda d: _signed(d).__setitem__("spec_version", "1.0"))
    case("no signatures at all", lambda d: d.__setitem__("signatures", []))
    if name == "targets":
        case("plain custom with unrelated fields", lambda d: _signed(d)["targets"].__setitem__(
            "other", {"length": 0, "hashes": {"sha256": "00"}, "custom": {"anything": [None]}}))
        case("succinct_roles delegation", lambda d: _signed(d).__setitem__("delegations", {
            "keys": {}, "succinct_roles": {
                "keyids": ["ab"], "threshold": 1, "bit_length": 8, "name_prefix": "bin"}}))
        case("full tufota delta custom", lambda d: _signed(d)["targets"].__setitem__("d", {
            "length": 1, "hashes": {"sha512": "ff"}, "custom": {
                "device_model": ["m"], "component": "system", "version": "2", "build": "b",
                "type": "delta", "security_version": 0,
                "rollout": {"percent": 0, "start": "2026-01-01T00:00:00Z"},
                "delta": {"from_version": "1", "from_sha256": "0" * 64,
                          "format": "bsdiff4", "to": "m/system/2/full.img"},
                "x-future": True}}))
    if name == "snapshot":
        case("meta without length and hashes",
             lambda d: _signed(d)["meta"].__setitem__("targets.json", {"version": 7}))
    return cases


def self_test(validators, fixtures: str) -> bool:
    files = sorted(glob.glob(os.path.join(fixtures, "keytypes", "*", "*.json"))
                   + glob.glob(os.path.join(fixtures, "repo", "metadata", "*.json")))
    if not files:
        print(f"self-test: no metadata under {fixtures} (run make_fixtures.py into it first)")
        return False
    ok = True
    n_valid = n_rejected = 0
    seen_roles = set()
    for path in files:
        with open(path, "rb") as f:
            doc = json.loads(f.read())
        name = schema_for(doc)
        errs = errors_of(validators[name], doc) if name else ["unknown _type"]
        if errs:
            ok = False
            print(f"FAIL {path} must validate as {name}: {errs}")
            continue
        n_valid += 1
        # custom objects on their own, against target-custom.json
        if name == "targets":
            for tpath, t in doc["signed"]["targets"].items():
                if "custom" in t:
                    cerrs = errors_of(validators["target-custom"], t["custom"])
                    if cerrs:
                        ok = False
                        print(f"FAIL {path} {tpath} custom: {cerrs}")
        # mutations: once per role and per keytype dir is plenty
        key = (name, os.path.dirname(path))
        if key in seen_roles:
            continue
        seen_roles.add(key)
        for desc, bad in broken_variants(name, doc):
            if not errors_of(validators[name], bad):
                ok = False
                print(f"FAIL {path}: broken variant accepted: {desc}")
            else:
                n_rejected += 1
        for desc, good in valid_variants(name, doc):
            errs = errors_of(validators[name], good)
            if errs:
                ok = False
                print(f"FAIL {path}: valid variant rejected: {desc}: {errs}")
            else:
                n_valid += 1
    print(f"self-test: {'ok' if ok else 'FAILED'}: {n_valid} documents/variants valid, "
          f"{n_rejected} broken variants rejected, {len(files)} python-tuf files")
    return ok


def main() -> int:
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # quiet when piped into head
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--schema", choices=[n for n in NAMES if n != "common"])
    ap.add_argument("--self-test", metavar="FIXTURES")
    ap.add_argument("files", nargs="*")
    args = ap.parse_args()
    validators = load_validators()
    if args.self_test:
        return 0 if self_test(validators, args.self_test) else 1
    if not args.files:
        ap.error("no files")
    return 0 if validate_files(validators, args.files, args.schema) else 1


if __name__ == "__main__":
    sys.exit(main())
