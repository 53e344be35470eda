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
