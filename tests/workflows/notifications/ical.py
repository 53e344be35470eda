"""A small, strict reader for the iCalendar text Medbook writes: enough to check it against RFC 5545."""

from __future__ import annotations

import re

CONTENT_LINE = re.compile(r"^(?P<name>[A-Z][A-Z0-9-]*)(?P<params>(;[^:]*)?):(?P<value>.*)$")


def physical_lines(raw: str) -> list[bytes]:
    """The lines as sent; every line must end in CRLF and none may be longer than 75 octets."""
    data = raw.encode("utf-8")
    assert data.endswith(b"\r\n"), "the object must end with CRLF"
    assert b"\n" not in data.replace(b"\r\n", b""), "bare LF inside the object"
    assert b"\r" not in data.replace(b"\r\n", b""), "bare CR inside the object"
    lines = data[:-2].split(b"\r\n")
    for line in lines:
        assert len(line) <= 75, f"line of {len(line)} octets: {line!r}"
        line.decode("utf-8")  # a fold never splits a character
    return lines


def unescape(value: str) -> str:
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m[1] in "nN" else m[1], value)


def parse(raw: str) -> list[dict]:
    """Unfold and parse into components: [{"name": "VCALENDAR", "props": {...}}, {"name": "VEVENT", ...}]."""
    logical: list[str] = []
    for line in physical_lines(raw):
        text = line.decode("utf-8")
        if text.startswith((" ", "\t")):
            assert logical, "the first line cannot be a continuation"
            logical[-1] += text[1:]
        else:
            logical.append(text)
    components, stack = [], []
    for text in logical:
        match = CONTENT_LINE.match(text)
        assert match, f"not a content line: {text!r}"
        name, value = match["name"], match["value"]
        if name == "BEGIN":
            stack.append({"name": value, "props": {}, "params": {}})
        elif name == "END":
            assert stack and stack[-1]["name"] == value, f"END:{value} does not close {stack[-1:]}"
            components.append(stack.pop())
        else:
            assert stack, f"{name} outside any component"
            assert name not in stack[-1]["props"], f"{name} twice"
            stack[-1]["props"][name] = value
            stack[-1]["params"][name] = match["params"]
    assert not stack, "unclosed component"
    return components


def event_of(raw: str) -> tuple[dict, dict]:
    """(calendar properties, the single VEVENT's properties)"""
    components = parse(raw)
    calendar = next(c for c in components if c["name"] == "VCALENDAR")
    events = [c for c in components if c["name"] == "VEVENT"]
    assert len(events) == 1
    return calendar["props"], events[0]["props"]
