"""Reading back what an fpdf2 PDF prints, without a PDF library (pypdf is not a dependency).

fpdf2 draws text with embedded TrueType subsets: a string in the page holds two-byte glyph codes, not
characters, and each font's ToUnicode map says which character each code is. Following the page's
font switches (``/F1 10 Tf``) and decoding every string through its font's map gives back the text
as a reader's PDF viewer would copy it, Vietnamese diacritics included.
"""

from __future__ import annotations

import re
import zlib

OBJECT = re.compile(rb"(\d+) 0 obj\s*(.*?)endobj", re.S)
STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.S)
LENGTH = re.compile(rb"/Length (\d+)")
ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f", b"(": b"(", b")": b")", b"\\": b"\\"}


def _objects(pdf: bytes) -> dict[int, bytes]:
    return {int(number): body for number, body in OBJECT.findall(pdf)}


def _stream(body: bytes) -> bytes:
    match = STREAM.search(body)
    if match is None:
        return b""
    raw = match.group(1)
    length = LENGTH.search(body[: match.start()])
    if length is not None:
        # the dictionary's /Length, not the regex: compressed data may itself end in "\r"
        start = match.start(1)
        raw = body[start : start + int(length.group(1))]
    return zlib.decompress(raw) if b"/FlateDecode" in body else raw


def _cmap(stream: bytes) -> dict[int, str]:
    mapping: dict[int, str] = {}
    text = stream.decode("latin-1")
    for block in re.findall(r"beginbfchar(.*?)endbfchar", text, re.S):
        for code, chars in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            mapping[int(code, 16)] = bytes.fromhex(chars).decode("utf-16-be")
    for block in re.findall(r"beginbfrange(.*?)endbfrange", text, re.S):
        for first, last, chars in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            for offset, code in enumerate(range(int(first, 16), int(last, 16) + 1)):
                mapping[code] = chr(int(chars, 16) + offset)
    return mapping


def _literal(raw: bytes) -> bytes:
    out, i = bytearray(), 0
    while i < len(raw):
        byte = raw[i : i + 1]
        if byte != b"\\":
            out += byte
            i += 1
            continue
        nxt = raw[i + 1 : i + 2]
        if nxt in ESCAPES:
            out += ESCAPES[nxt]
            i += 2
        elif nxt.isdigit():
            digits = re.match(rb"[0-7]{1,3}", raw[i + 1 : i + 4]).group(0)
            out.append(int(digits, 8))
            i += 1 + len(digits)
        else:
            i += 2  # a line continuation
    return bytes(out)


def fonts_used(pdf: bytes) -> set[str]:
    """The base names of the fonts the file embeds (e.g. {"ABCDEF+DejaVuSans", …})."""
    return {name.decode() for name in re.findall(rb"/BaseFont\s*/([A-Za-z0-9+\-]+)", pdf)}


def pdf_text(pdf: bytes) -> str:
    """Every string the pages draw, one per line, decoded through its font's ToUnicode map."""
    objects = _objects(pdf)
    maps: dict[bytes, dict[int, str]] = {}
    for body in objects.values():
        for name, ref in re.findall(rb"/(F\d+)\s+(\d+) 0 R", body):
            font = objects.get(int(ref), b"")
            to_unicode = re.search(rb"/ToUnicode\s+(\d+) 0 R", font)
            if to_unicode:
                maps[name] = _cmap(_stream(objects[int(to_unicode.group(1))]))
    lines = []
    token = re.compile(rb"/(F\d+)\s+[\d.]+\s+Tf|\(((?:\\.|[^\\)])*)\)\s*Tj", re.S)
    for body in objects.values():
        if b"/Contents" in body or b"/Length" not in body:
            continue
        stream = _stream(body)
        if b" Tj" not in stream:
            continue
        current: dict[int, str] = {}
        for font, string in token.findall(stream):
            if font:
                current = maps.get(font, {})
                continue
            codes = _literal(string)
            lines.append(
                "".join(current.get(int.from_bytes(codes[i : i + 2], "big"), "?") for i in range(0, len(codes), 2))
            )
    return "\n".join(lines)
