#!/usr/bin/env python3
"""Validates FHIR R4 (4.0.1) transaction Bundles with fhir.resources, an implementation that is not
Lifeboat's: every resource is parsed against the R4 models (element names, types, cardinality,
required elements, primitive formats). Then the Bundle rules of a transaction: each entry has a
unique fullUrl and a request, and every `urn:uuid:` reference points at an entry of the Bundle.

Usage: validate.py FILE...   Prints one line per file; exits 1 if any file is invalid.
"""
import json
import sys
from collections import Counter

import fhir.resources
from fhir.resources.bundle import Bundle

assert fhir.resources.__fhir_version__ == "4.0.1", fhir.resources.__fhir_version__


def references(value, path=""):
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "reference" and isinstance(item, str):
                yield path, item
            else:
                yield from references(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from references(item, f"{path}[{i}]")


def check(path):
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    problems = []
    try:
        Bundle.parse_obj(data)
    except Exception as e:  # pydantic's ValidationError lists every problem
        problems.append(str(e))
    if data.get("type") != "transaction":
        problems.append(f"Bundle.type is {data.get('type')!r}, not 'transaction'")
    entries = data.get("entry", [])
    urls = [e.get("fullUrl") for e in entries]
    for url, n in Counter(urls).items():
        if url is None or n > 1:
            problems.append(f"fullUrl {url!r} appears {n} times")
    known = set(urls)
    for i, e in enumerate(entries):
        request = e.get("request") or {}
        if request.get("method") not in ("POST", "PUT"):
            problems.append(f"entry[{i}].request.method is {request.get('method')!r}")
        for where, ref in references(e.get("resource", {})):
            if ref.startswith("urn:uuid:") and ref not in known:
                problems.append(f"entry[{i}].resource.{where}: {ref} is not an entry of the Bundle")
    kinds = Counter(e.get("resource", {}).get("resourceType") for e in entries)
    if problems:
        print(f"{path}: INVALID")
        for p in problems:
            print(f"  {p}")
        return False
    summary = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    print(f"{path}: valid FHIR R4 transaction Bundle ({summary})")
    return True


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__)
        sys.exit(2)
    results = [check(p) for p in sys.argv[1:]]
    sys.exit(0 if all(results) else 1)
