from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core.health import check_broker, check_database, check_worker


@never_cache
@require_GET
def healthz(request):
    """JSON health of database, broker and worker: 200 when all are fine, 503 otherwise."""
    database = check_database()
    checks = {"database": database}
    if database["ok"]:
        checks["broker"] = check_broker()
        checks["worker"] = check_worker()
    else:
        checks["broker"] = {"ok": False, "error": "database unavailable"}
        checks["worker"] = {"ok": False, "error": "database unavailable"}
    ok = all(check["ok"] for check in checks.values())
    return JsonResponse({"status": "ok" if ok else "unavailable", "checks": checks}, status=200 if ok else 503)


def api_not_found(request, *args, **kwargs):
    return JsonResponse({"error": {"code": "not_found", "message": "Not found.", "details": {}}}, status=404)
