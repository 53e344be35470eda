"""The periodic tasks Medbook needs, created or updated idempotently by name.

They are (re)written after every ``migrate`` and by ``manage.py ensure_schedules``; editing one in
the admin and running either again restores the definition below.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone


@dataclass(frozen=True)
class PeriodicTask:
    name: str
    func: str
    minutes: int


PERIODIC_TASKS: list[PeriodicTask] = [
    PeriodicTask(name="medbook.heartbeat", func="workflows.tasks.heartbeat", minutes=1),
    PeriodicTask(name="medbook.expire_holds", func="workflows.tasks.expire_lapsed_holds", minutes=1),
    PeriodicTask(name="medbook.reminders", func="workflows.tasks.send_due_reminders", minutes=1),
    PeriodicTask(name="medbook.outbox_retry", func="workflows.tasks.retry_pending_outbox", minutes=1),
    PeriodicTask(name="medbook.webhooks_retry", func="workflows.integrations.tasks.retry_due_webhooks", minutes=1),
    PeriodicTask(name="medbook.refunds", func="workflows.tasks.retry_due_refunds", minutes=1),
    PeriodicTask(name="medbook.availability_rules", func="workflows.tasks.extend_availability_rules", minutes=60),
    PeriodicTask(name="medbook.subscriptions", func="workflows.clinic.tasks.subscriptions_sweep", minutes=15),
    PeriodicTask(
        name="medbook.unread_message_emails", func="workflows.messaging.tasks.email_unread_messages", minutes=1
    ),
    PeriodicTask(name="medbook.doctor_profile_pages", func="cms.tasks.sync_doctor_profiles", minutes=10),
    PeriodicTask(name="medbook.rating_invitations", func="workflows.operations.tasks.invite_ratings", minutes=15),
    PeriodicTask(name="medbook.waitlist_refill", func="workflows.operations.tasks.refill_from_waitlist", minutes=1),
]


def ensure_schedules() -> list[str]:
    """Create or update every schedule in ``PERIODIC_TASKS``; returns the names that changed."""
    from django_q.models import Schedule

    changed = []
    for task in PERIODIC_TASKS:
        schedule = Schedule.objects.filter(name=task.name).first()
        wanted = {"func": task.func, "schedule_type": Schedule.MINUTES, "minutes": task.minutes, "repeats": -1}
        if schedule is None:
            Schedule.objects.create(name=task.name, next_run=timezone.now(), **wanted)
            changed.append(task.name)
        elif any(getattr(schedule, key) != value for key, value in wanted.items()):
            for key, value in wanted.items():
                setattr(schedule, key, value)
            schedule.save(update_fields=list(wanted))
            changed.append(task.name)
    return changed


def ensure_schedules_after_migrate(sender, app_config=None, **kwargs) -> None:
    # post_migrate is sent once per app that has models: act once, for django-q2's (its table exists).
    if app_config is not None and app_config.label == "django_q":
        ensure_schedules()
