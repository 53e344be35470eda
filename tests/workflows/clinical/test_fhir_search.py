"""FHIR search: ``date`` with prefixes (eq, ne, gt, lt, ge, le) at day, month, year or second precision,
two ``date`` values as a range, and ``_count`` pages linked by ``Bundle.link`` (next, previous) with
the total of every match. Every Bundle validates against fhir.resources (R4B)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from core.models import AuditLog
from tests.api.clients import bearer_client
from tests.booking.appointments.helpers import completed_visit
from tests.factories import publish_slots
from tests.workflows.clinical.helpers import asthma_note
from tests.workflows.clinical.test_fhir import validated
from workflows.clinical import fhir
from workflows.clinical import services as svc

pytestmark = pytest.mark.django_db


def sign(visit, doctor):
    note = svc.visit_note_start(appointment=visit, actor=doctor.user)
    svc.visit_note_save_draft(note=note, actor=doctor.user, content=asthma_note())
    return svc.visit_note_sign(note=note, actor=doctor.user)


@pytest.fixture
def three_visits(visit, doctor_binh, patient_dao):
    """Signed visits 10, 5 and 1 days ago (oldest first)."""
    visits = [
        completed_visit(doctor_binh, patient_dao, days_ago=10),
        completed_visit(doctor_binh, patient_dao, days_ago=5),
        visit,
    ]
    for each in visits:
        sign(each, doctor_binh)
    return visits


def day(visit) -> str:
    return timezone.localtime(visit.starts_at).date().isoformat()


def ids(client, kind, **params) -> list[str]:
    response = client.get(f"/api/fhir/{kind}", params)
    assert response.status_code == 200, response.content
    return [resource["id"] for resource in validated(response.json())]


def test_date_prefixes_and_ranges_select_visits_by_their_time(three_visits, doctor_binh, patient_dao):
    old, middle, recent = three_visits
    client = bearer_client(doctor_binh.user)
    note_id = {v.pk: str(v.visit_note.pk) for v in three_visits}
    cases = {
        day(middle): [middle],
        f"eq{day(middle)}": [middle],
        f"ne{day(middle)}": [old, recent],
        f"gt{day(middle)}": [recent],
        f"ge{day(middle)}": [middle, recent],
        f"lt{day(middle)}": [old],
        f"le{day(middle)}": [old, middle],
        # a date-time is one second: "after the middle visit started" leaves the recent one
        f"gt{middle.starts_at.isoformat()}": [recent],
        f"ge{middle.starts_at.isoformat()}": [middle, recent],
    }
    for value, expected in cases.items():
        assert ids(client, "Encounter", patient=patient_dao.pk, date=value) == [note_id[v.pk] for v in expected], value
    # two values make a range: from the old visit's day up to (not including) the recent one's
    in_range = ids(client, "Encounter", patient=patient_dao.pk, date=[f"ge{day(old)}", f"lt{day(recent)}"])
    assert in_range == [note_id[old.pk], note_id[middle.pk]]
    appointments = ids(client, "Appointment", patient=patient_dao.pk, date=[f"gt{day(old)}", f"le{day(recent)}"])
    assert appointments == [str(middle.pk), str(recent.pk)]
    # the same filter applies to the note's diagnoses and prescription lines
    assert len(ids(client, "Condition", patient=patient_dao.pk, date=f"ge{day(middle)}")) == 2
    assert len(ids(client, "MedicationRequest", patient=patient_dao.pk, date=f"lt{day(middle)}")) == 1


def test_month_and_year_precision_cover_the_whole_period(three_visits, doctor_binh, patient_dao):
    client = bearer_client(doctor_binh.user)
    recent = three_visits[-1]
    local = timezone.localtime(recent.starts_at)
    assert str(recent.visit_note.pk) in ids(client, "Encounter", patient=patient_dao.pk, date=local.strftime("%Y-%m"))
    assert str(recent.visit_note.pk) in ids(client, "Encounter", patient=patient_dao.pk, date=local.strftime("%Y"))
    assert ids(client, "Encounter", patient=patient_dao.pk, date="1999") == []
    assert fhir.date_range("2026-12")[1] == fhir.date_range("2027")[0]  # December ends where the next year starts


@pytest.mark.parametrize("value", ["2026-13-01", "2026-02-30", "yesterday", "2026-01-01T10:00:00", "xx2026-01-01"])
def test_a_date_the_server_cannot_read_is_a_400_operation_outcome(visit, doctor_binh, value):
    response = bearer_client(doctor_binh.user).get("/api/fhir/Encounter", {"date": value})
    assert response.status_code == 400
    outcome = validated(response.json())[0]
    assert outcome["resourceType"] == "OperationOutcome" and outcome["issue"][0]["code"] == "invalid"


def test_count_pages_with_next_and_previous_links_and_the_full_total(three_visits, doctor_binh, patient_dao):
    client = bearer_client(doctor_binh.user)
    first = client.get("/api/fhir/Encounter", {"patient": patient_dao.pk, "_count": 2}).json()
    validated(first)
    assert (first["total"], len(first["entry"])) == (3, 2)
    links = {link["relation"]: link["url"] for link in first["link"]}
    assert set(links) == {"self", "first", "next"}
    following = urlsplit(links["next"])
    assert following.path == "/api/fhir/Encounter"
    query = parse_qs(following.query)
    assert query == {"patient": [str(patient_dao.pk)], "_count": ["2"], "_offset": ["2"]}  # the search is kept

    second = client.get(f"{following.path}?{following.query}").json()
    validated(second)
    assert (second["total"], len(second["entry"])) == (3, 1)
    relations = {link["relation"] for link in second["link"]}
    assert "next" not in relations and "previous" in relations
    seen = [e["resource"]["id"] for e in first["entry"] + second["entry"]]
    assert seen == [str(v.visit_note.pk) for v in three_visits]  # each once, in visit order

    only_total = client.get("/api/fhir/Encounter", {"patient": patient_dao.pk, "_count": 0}).json()
    validated(only_total)
    assert (only_total["total"], only_total.get("entry", [])) == (3, [])
    assert AuditLog.objects.filter(action="clinical.fhir.read", data__total=3, data__count=1).exists()


def test_a_bad_count_is_a_400_and_a_huge_one_is_capped(visit, doctor_binh):
    client = bearer_client(doctor_binh.user)
    assert client.get("/api/fhir/Encounter", {"_count": "many"}).status_code == 400
    assert client.get("/api/fhir/Appointment", {"_offset": "-1"}).status_code == 400
    capped = client.get("/api/fhir/Appointment", {"_count": 100000}).json()
    self_link = next(link["url"] for link in capped["link"] if link["relation"] == "self")
    assert parse_qs(urlsplit(self_link).query)["_count"] == [str(fhir.MAX_COUNT)]


def test_slots_page_beyond_the_old_fixed_cap_and_filter_by_a_date_range(doctor_binh, patient_dao):
    start = (timezone.now() + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    slots = publish_slots(doctor_binh, start=start, count=5)
    client = bearer_client(patient_dao)
    schedule = f"Schedule/{doctor_binh.pk}"
    page = client.get("/api/fhir/Slot", {"schedule": schedule, "_count": 3}).json()
    validated(page)
    assert (page["total"], len(page["entry"])) == (5, 3)
    following = next(link["url"] for link in page["link"] if link["relation"] == "next")
    rest = validated(client.get(following).json())
    assert [s["id"] for s in rest] == [str(s.pk) for s in slots[3:]]
    window = [f"ge{slots[1].start.isoformat()}", f"lt{slots[3].start.isoformat()}"]
    assert [
        s["id"] for s in validated(client.get("/api/fhir/Slot", {"schedule": schedule, "date": window}).json())
    ] == [
        str(slots[1].pk),
        str(slots[2].pk),
    ]


def test_documents_are_searched_by_date_too(visit, doctor_binh, patient_dao):
    svc.document_upload(appointment=visit, actor=doctor_binh.user, data=b"%PDF-1.4\n" + b" " * 200, title="Lab")
    client = bearer_client(patient_dao)
    today = timezone.localdate()
    assert len(ids(client, "DocumentReference", patient=patient_dao.pk, date=f"ge{today.isoformat()}")) == 1
    assert ids(client, "DocumentReference", patient=patient_dao.pk, date=f"lt{today.isoformat()}") == []


def test_the_treatment_plan_is_a_care_plan_with_its_goals_and_follow_up_steps(visit, doctor_binh, patient_dao):
    from tests.workflows.clinical.helpers import review_day

    note = sign(visit, doctor_binh)
    client = bearer_client(patient_dao)
    [plan] = validated(client.get("/api/fhir/CarePlan", {"patient": patient_dao.pk}).json())
    assert (plan["id"], plan["status"], plan["description"]) == (
        str(note.pk),
        "active",
        "Inhaled corticosteroid; review in 4 weeks",
    )
    assert plan["activity"] == [
        {
            "detail": {
                "status": "not-started",
                "description": "Review the inhaler technique",
                "scheduledString": review_day().isoformat(),
            }
        }
    ]
    [goal] = validated(client.get("/api/fhir/Goal", {"patient": patient_dao.pk}).json())
    assert plan["goal"] == [{"reference": f"Goal/{goal['id']}"}]
    assert goal["description"]["text"] == "Nights without wheezing"
