import sys

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core.health import check_broker, check_cache, check_database, check_worker
from core.unavailable import database_unavailable, retry_after_seconds, server_error_response, unavailable_response


@never_cache
@require_GET
def healthz(request):
    """JSON health of database, cache, broker and worker: 200 when all are fine, 503 otherwise.

    ``down`` names every dependency that is not fine; ``checks`` has the details of each.
    """
    database = check_database()
    checks = {"database": database, "cache": check_cache()}
    if database["ok"] or getattr(settings, "REDIS_URL", None):
        checks["broker"] = check_broker()  # Redis answers without the database; the ORM broker does not
    else:
        checks["broker"] = {"ok": False, "error": "database unavailable"}
    if database["ok"]:
        checks["worker"] = check_worker()
    else:
        checks["worker"] = {"ok": False, "error": "database unavailable"}
    down = [name for name, check in checks.items() if not check["ok"]]
    body = {"status": "unavailable" if down else "ok", "down": down, "checks": checks}
    response = JsonResponse(body, status=503 if down else 200)
    if not database["ok"]:
        response["Retry-After"] = str(retry_after_seconds())
    return response


def server_error(request):
    """Django's 500 handler: 503 with Retry-After when the database is down, else a plain 500."""
    exc = sys.exc_info()[1]
    if database_unavailable(exc):
        return unavailable_response(request, exc)
    return server_error_response(request)


def api_not_found(request, *args, **kwargs):
    return JsonResponse({"error": {"code": "not_found", "message": "Not found.", "details": {}}}, status=404)
