"""A typical note, written as a doctor would."""

from __future__ import annotations

from workflows.clinical.services import DiagnosisEntry, LineEntry, NoteContent


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
    }
    values.update(overrides)
    return NoteContent(**values)
