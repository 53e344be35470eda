"""Standing weekly hours (issue 17 item 4, seed 004's ``doctor_availability``) published ahead by the
worker: each active ``AvailabilityRule`` becomes ``Availability`` (and its slots) on every matching date
up to a rolling number of weeks ahead, through ``availability_generate_weekly`` (set-based; slots under
blocked time are made blocked; dates that already have overlapping hours are skipped).

Idempotent twice over: ``generated_through`` remembers the last date published, so a run only looks at
the dates after it (a date the doctor cleared by hand is not made again), and the weekly generator
itself skips any date that already has those hours. Lock order: the rule row, then the doctor (taken by
the generator). No network inside.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from booking.models import AvailabilityRule
from booking.services.scheduling import availability_generate_weekly
from core.db import retry_transaction
from core.errors import DomainError

logger = logging.getLogger(__name__)

#: the generator's one-run limit is 92 days; weeks_ahead is validated to at most 12
MAX_WEEKS_AHEAD = 12


def weeks_ahead_default() -> int:
    return min(int(getattr(settings, "AVAILABILITY_RULES_WEEKS_AHEAD", 4)), MAX_WEEKS_AHEAD)


def _window(rule: AvailabilityRule, *, today: date, weeks: int) -> tuple[date, date]:
    """The local dates still to publish for ``rule``: after what it already published (and after today),
    through ``weeks`` weeks from today."""
    first = today + timedelta(days=1)
    if rule.generated_through is not None:
        first = max(first, rule.generated_through + timedelta(days=1))
    return first, today + timedelta(weeks=weeks)


@retry_transaction
def availability_rule_extend(*, rule_id: int, now: datetime | None = None, weeks_ahead: int | None = None) -> int:
    """Publish one rule's dates that are due; returns how many days of availability were created (0
    when nothing was due). Raises the generator's SchedulingError for a rule that cannot be applied."""
    now = now or timezone.now()
    with transaction.atomic():
        rule = (
            AvailabilityRule.objects.select_for_update(of=("self",))
            .select_related("doctor__user", "facility", "room")
            .filter(pk=rule_id, is_active=True, doctor__is_active=True)
            .first()
        )
        if rule is None:
            return 0
        weeks = min(rule.weeks_ahead or weeks_ahead or weeks_ahead_default(), MAX_WEEKS_AHEAD)
        today = now.astimezone(rule.doctor.zone).date()
        first, last = _window(rule, today=today, weeks=weeks)
        if first > last:
            return 0
        created = 0
        if any((first + timedelta(days=n)).weekday() == rule.weekday for n in range((last - first).days + 1)):
            result = availability_generate_weekly(
                doctor=rule.doctor,
                weekdays={rule.weekday},
                start_time=rule.start_time,
                end_time=rule.end_time,
                slot_minutes=rule.slot_minutes,
                date_from=first,
                date_to=last,
                actor=None,
                now=now,
                mode=rule.mode,
                facility=rule.facility,
                room=rule.room,
            )
            created = len(result.created)
        rule.generated_through = last
        rule.save(update_fields=["generated_through", "updated_at"])
    return created


def availability_rules_extend(
    *, now: datetime | None = None, weeks_ahead: int | None = None, doctor=None
) -> dict[str, int]:
    """The worker's run: publish every active rule (of ``doctor`` only, if given) up to its rolling
    horizon. One transaction per rule, so a rule that cannot be applied (logged and counted in
    ``failed``) does not stop the others. Returns ``{"rules", "created", "failed"}``."""
    now = now or timezone.now()
    rules = AvailabilityRule.objects.filter(is_active=True, doctor__is_active=True)
    if doctor is not None:
        rules = rules.filter(doctor=doctor)
    summary = {"rules": 0, "created": 0, "failed": 0}
    for rule_id in rules.order_by("pk").values_list("pk", flat=True):
        summary["rules"] += 1
        try:
            summary["created"] += availability_rule_extend(rule_id=rule_id, now=now, weeks_ahead=weeks_ahead)
        except DomainError as exc:
            summary["failed"] += 1
            logger.warning("availability rule %s not applied: %s", rule_id, exc)
    return summary
