"""A typical note, written as a doctor would."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from workflows.clinical.services import DiagnosisEntry, LineEntry, NoteContent, PlanEntry


def review_day():
    """The plan's review date: four weeks from today (in the future whenever the test runs)."""
    return timezone.localdate() + timedelta(days=28)


def asthma_note(**overrides) -> NoteContent:
    values = {
        "subjective": "Wheezing at night for two weeks",
        "objective": "Expiratory wheeze, no fever",
        "assessment": "Allergic asthma, mild persistent",
        "plan": "Inhaled corticosteroid; review in 4 weeks",
        "vitals": {"temperature_c": "36.8", "pulse_bpm": 88, "systolic_mmhg": 120, "diastolic_mmhg": 80},
        "diagnoses": (DiagnosisEntry(code="j45.0", comment="triggered by dust"),),
        "prescription": (
            LineEntry(
                medicine="Budesonide inhaler",
                strength="200 mcg",
                dose="1 puff",
                route="inhaled",
                frequency="twice a day",
                duration="28 days",
                quantity="1 inhaler",
                instructions="Rinse the mouth after use",
            ),
        ),
        "plan_items": (
            PlanEntry(kind="goal", text="Nights without wheezing"),
            PlanEntry(kind="step", text="Review the inhaler technique", due_date=review_day()),
        ),
    }
    values.update(overrides)
    return NoteContent(**values)


def pdf_texts(content: bytes) -> list[str]:
    """The text an fpdf2 PDF shows, decoded with each embedded font's ToUnicode map (one string per
    font: a line drawn in that font reads correctly in its string). No PDF reader is installed here, so
    this reads the two structures fpdf2 writes: zlib content streams and ``bfchar`` maps."""
    import re

    from tests.booking.invoices.pdftext import _objects, _stream

    # each stream read by its dictionary's /Length (compressed data may itself end in "\r", which a
    # "stream … \r?\nendstream" pattern would drop, and the stream would then fail to decompress)
    streams = [_stream(body) for body in _objects(content).values() if b"stream" in body]
    cmaps = []
    for stream in streams:
        if b"beginbfchar" in stream:
            pairs = re.findall(rb"<([0-9A-Fa-f]{4})> <([0-9A-Fa-f]{4,8})>", stream.split(b"endcodespacerange")[1])
            cmaps.append({int(code, 16): chr(int(uni, 16)) for code, uni in pairs})
    strings = []
    for stream in streams:
        if b"BT" not in stream:
            continue
        i = 0
        while (start := stream.find(b"(", i)) != -1:
            out, j, depth = bytearray(), start + 1, 1
            while j < len(stream):
                byte = stream[j]
                if byte == 0x5C:  # backslash escape
                    nxt = stream[j + 1 : j + 2]
                    out += {b"n": b"\n", b"r": b"\r", b"t": b"\t"}.get(nxt, nxt)
                    j += 2
                    continue
                if byte == 0x28:
                    depth += 1
                elif byte == 0x29:
                    depth -= 1
                    if depth == 0:
                        break
                out.append(byte)
                j += 1
            strings.append(bytes(out))
            i = j + 1
    texts = []
    for cmap in cmaps:
        lines = []
        for raw in strings:
            codes = [int.from_bytes(raw[k : k + 2], "big") for k in range(0, len(raw) - 1, 2)]
            lines.append("".join(cmap.get(code, "\ufffd") for code in codes))
        texts.append("\n".join(lines))
    return texts
