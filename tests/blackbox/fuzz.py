"""Bodies for the API's write operations, generated from its OpenAPI document.

A fixed corpus, the same on every run: for each operation a plausible body built from the schema,
then that body with one field replaced by something a server must refuse cleanly (a NUL byte, a
time with an offset or as a number, an impossible date, a huge number, a very long text, a wrong
type, null), and raw bodies that are not the JSON the operation expects.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

WRITE_METHODS = ("post", "put", "patch")

#: what replaces one field of a valid body, by the field's JSON type
FIELD_MUTATIONS: dict[str, list[tuple[str, Any]]] = {
    "string": [
        ("nul byte", "before\x00after"),
        ("offset time", "2026-12-15T10:00:00+07:00"),
        ("numeric time", 1765792800),
        ("impossible date", "2026-02-30"),
        ("long text", "x" * 20000),
        ("null", None),
        ("list", ["a"]),
    ],
    "integer": [
        ("huge number", 10**30),
        ("negative huge", -(10**30)),
        ("float", 1e308),
        ("numeric string", "12"),
        ("nul byte", "\x00"),
        ("null", None),
    ],
    "number": [("huge number", 10**400), ("nul byte", "\x00"), ("null", None)],
    "boolean": [("nul byte", "\x00"), ("two", 2)],
    "other": [("nul byte", "\x00"), ("huge number", 10**30)],
}

RAW_BODIES: list[tuple[str, bytes]] = [
    ("empty body", b""),
    ("not json", b"not json at all"),
    ("truncated json", b'{"a": '),
    ("bare nul", b"\x00"),
    ("json array", b"[1, 2, 3]"),
    ("deep nesting", b"[" * 5000 + b"]" * 5000),
    ("escaped nul in an unknown field", b'{"unexpected": "\\u0000"}'),
    ("lone surrogate", b'{"reason": "\\ud800"}'),
]


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    schema: dict | None

    def url(self, params: dict[str, str]) -> str:
        return re.sub(r"\{(\w+)\}", lambda match: str(params.get(match.group(1), "0")), self.path)


@dataclass(frozen=True)
class Case:
    label: str
    content: bytes


def write_operations(spec: dict) -> list[Operation]:
    operations = []
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            if method not in WRITE_METHODS:
                continue
            content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            schema = resolve(spec, content["schema"]) if "schema" in content else None
            operations.append(Operation(method=method.upper(), path=path, schema=schema))
    return operations


def resolve(spec: dict, schema: dict) -> dict:
    """Follow ``$ref`` and pick the non-null branch of ``anyOf`` (Optional fields)."""
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    if "anyOf" in schema:
        branches = [b for b in schema["anyOf"] if b.get("type") != "null"]
        if branches:
            return resolve(spec, branches[0])
    return schema


def sample(spec: dict, schema: dict, name: str = "") -> Any:
    """A plausible value for ``schema``."""
    schema = resolve(spec, schema)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    fmt = schema.get("format", "")
    if kind == "string":
        if fmt == "date":
            return "2026-12-15"
        if fmt == "date-time":
            return "2026-12-15T10:00:00Z"
        if fmt == "time" or name.lower().endswith("time"):
            return "10:00"
        if name.lower().endswith("date"):
            return "2026-12-15"
        if "email" in name.lower():
            return "fuzz@example.com"
        return "fuzz"
    if kind == "integer":
        return 1
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return True
    if kind == "array":
        return [sample(spec, schema.get("items", {}))]
    if kind == "object" or "properties" in schema:
        return {key: sample(spec, sub, key) for key, sub in schema.get("properties", {}).items()}
    return "fuzz"


def cases(spec: dict, operation: Operation) -> list[Case]:
    found = [Case(label, body) for label, body in RAW_BODIES]
    if operation.schema is None:
        return found
    base = sample(spec, operation.schema)
    found.append(Case("plausible body", _dump(base)))
    found.append(Case("empty object", b"{}"))
    for field, sub in operation.schema.get("properties", {}).items():
        kind = resolve(spec, sub).get("type", "other")
        for label, value in FIELD_MUTATIONS.get(kind, FIELD_MUTATIONS["other"]):
            found.append(Case(f"{field}: {label}", _dump({**base, field: value})))
    return found


def _dump(value: Any) -> bytes:
    return json.dumps(value).encode()
