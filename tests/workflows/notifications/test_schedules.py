from django_q.models import Schedule
from django_q.tasks import async_task

from core.models import WorkerHeartbeat
from workflows.schedules import PERIODIC_TASKS, ensure_schedules


def test_schedules_exist_after_migrate_and_ensure_is_idempotent(db):
    names = set(Schedule.objects.values_list("name", flat=True))
    assert {task.name for task in PERIODIC_TASKS} <= names
    assert ensure_schedules() == []
    Schedule.objects.filter(name="medbook.heartbeat").update(minutes=99)
    assert ensure_schedules() == ["medbook.heartbeat"]
    assert Schedule.objects.get(name="medbook.heartbeat").minutes == 1
    assert Schedule.objects.filter(name="medbook.heartbeat").count() == 1


def test_tasks_run_inline_in_tests(db):
    async_task("workflows.tasks.heartbeat")
    assert WorkerHeartbeat.objects.filter(name="qcluster").exists()


def test_the_workflow_schedules_run_every_minute_the_outbox_sweep_too(db):
    from django.utils.module_loading import import_string

    wanted = {
        "medbook.heartbeat": ("workflows.tasks.heartbeat", 1),
        "medbook.expire_holds": ("workflows.tasks.expire_lapsed_holds", 1),
        "medbook.reminders": ("workflows.tasks.send_due_reminders", 1),
        "medbook.outbox_retry": ("workflows.tasks.retry_pending_outbox", 1),
    }
    schedules = {s.name: (s.func, s.minutes) for s in Schedule.objects.filter(name__in=wanted)}
    assert schedules == wanted
    for func, _ in wanted.values():
        assert callable(import_string(func))
