#!/usr/bin/env python3
"""Validates FHIR R4 (4.0.1) transaction Bundles with fhir.resources, an implementation that is not
Lifeboat's: every resource is parsed against the R4 models (element names, types, cardinality,
required elements, primitive formats). The parser does not check value sets or invariants, so this
script adds the required bindings of the coded elements such a Bundle uses (statuses, gender, the
uses of names, identifiers, telecoms and addresses), the Appointment invariants app-2 and app-3, the
narrative's XHTML without scripts, and the transaction rules: a unique fullUrl and a request for each
entry, and every `urn:uuid:` reference pointing at an entry of the Bundle. It is not the HL7 Java
validator, which also checks every binding, profile and FHIRPath invariant.

Usage: validate.py FILE...   Prints one line per file; exits 1 if any file is invalid.
"""
import json
import sys
from collections import Counter

import fhir.resources
from fhir.resources.bundle import Bundle

assert fhir.resources.__fhir_version__ == "4.0.1", fhir.resources.__fhir_version__


# Required bindings (R4 4.0.1) of the coded elements a Bundle like Lifeboat's uses: the parser
# checks types and cardinality, not these.
STATUS_CODES = {
    ("Encounter", "status"): {"planned", "arrived", "triaged", "in-progress", "onleave", "finished",
                              "cancelled", "entered-in-error", "unknown"},
    ("Observation", "status"): {"registered", "preliminary", "final", "amended", "corrected", "cancelled",
                                "entered-in-error", "unknown"},
    ("Appointment", "status"): {"proposed", "pending", "booked", "arrived", "fulfilled", "cancelled", "noshow",
                                "entered-in-error", "checked-in", "waitlist"},
    ("MedicationRequest", "status"): {"active", "on-hold", "cancelled", "completed", "entered-in-error",
                                      "stopped", "draft", "unknown"},
    ("MedicationRequest", "intent"): {"proposal", "plan", "order", "original-order", "reflex-order",
                                      "filler-order", "instance-order", "option"},
    ("MedicationDispense", "status"): {"preparation", "in-progress", "cancelled", "on-hold", "completed",
                                       "entered-in-error", "stopped", "declined", "unknown"},
    ("Patient", "gender"): {"male", "female", "other", "unknown"},
}
NESTED_CODES = {
    "telecom.system": {"phone", "fax", "email", "pager", "url", "sms", "other"},
    "telecom.use": {"home", "work", "temp", "old", "mobile"},
    "identifier.use": {"usual", "official", "temp", "secondary", "old"},
    "name.use": {"usual", "official", "temp", "nickname", "anonymous", "old", "maiden"},
    "address.use": {"home", "work", "temp", "old", "billing"},
    "participant.status": {"accepted", "declined", "tentative", "needs-action"},
    "text.status": {"generated", "extensions", "additional", "empty"},
}


def codes(kind, resource):
    """Problems with the coded values and the invariants Lifeboat's resources must meet."""
    problems = []
    for (rtype, element), allowed in STATUS_CODES.items():
        if kind == rtype and element in resource and resource[element] not in allowed:
            problems.append(f"{kind}.{element} {resource[element]!r} is not in the R4 value set")
    for path, allowed in NESTED_CODES.items():
        parent, element = path.split(".")
        items = resource.get(parent)
        for item in items if isinstance(items, list) else [items] if isinstance(items, dict) else []:
            if element in item and item[element] not in allowed:
                problems.append(f"{kind}.{path} {item[element]!r} is not in the R4 value set")
    if kind == "Appointment":
        # app-2 and app-3: start and end together, and both unless proposed, cancelled or waitlisted.
        has = ("start" in resource, "end" in resource)
        if has[0] != has[1]:
            problems.append("Appointment: app-2: either start and end are given, or neither")
        if not all(has) and resource.get("status") not in ("proposed", "cancelled", "waitlist"):
            problems.append("Appointment: app-3: only proposed, cancelled or waitlisted appointments may lack start and end")
        if all(has) and resource["start"] > resource["end"]:
            problems.append("Appointment: starts after it ends")
    text = resource.get("text")
    if isinstance(text, dict):
        div = text.get("div", "")
        # txt-1 and txt-2 in short: XHTML with content, no scripts or event handlers.
        if not div.startswith('<div xmlns="http://www.w3.org/1999/xhtml">'):
            problems.append(f"{kind}.text.div: not an XHTML div")
        lowered = div.lower()
        if "<script" in lowered or " on" in lowered and "=" in lowered.split(" on", 1)[1][:20]:
            problems.append(f"{kind}.text.div: scripts and event handlers are not allowed")
    return problems


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
        if not request.get("url"):
            problems.append(f"entry[{i}].request.url is missing (bdl-3: a transaction entry has a request)")
        resource = e.get("resource", {})
        problems.extend(f"entry[{i}]: {p}" for p in codes(resource.get("resourceType"), resource))
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
