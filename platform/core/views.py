import json
from types import SimpleNamespace

from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.csrf import csrf_failure as django_csrf_failure
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
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


def api_error(*, status: int, code: str, message, details=None) -> JsonResponse:
    """The API's error shape, for answers given outside django-ninja (unknown paths, CSRF)."""
    return JsonResponse({"error": {"code": code, "message": str(message), "details": details or {}}}, status=status)


@csrf_exempt  # an unknown path has nothing to protect: always the JSON 404, never Django's CSRF page
def api_not_found(request, *args, **kwargs):
    return api_error(status=404, code="not_found", message=_("Not found."))


def csrf_failure(request, reason=""):
    """``CSRF_FAILURE_VIEW``: the API's JSON error under /api/, Django's page everywhere else."""
    if request.path.startswith("/api/"):
        return api_error(
            status=403,
            code="csrf_failed",
            message=_("CSRF check failed: send the X-CSRFToken header with a session, or use a bearer token."),
        )
    return django_csrf_failure(request, reason=reason)


def api_accounts_docs(request):
    """Swagger UI (the same static files as /api/v1/docs, no CDN) for allauth's headless API: login,
    token refresh, logout. Linked from the API's description."""
    settings = {"url": reverse("headless:openapi_json"), "layout": "BaseLayout", "deepLinking": True}
    context = {
        "swagger_settings": json.dumps(settings),
        "api": SimpleNamespace(title=_("Medbook accounts API (allauth headless)")),
        "add_csrf": False,
    }
    return render(request, "ninja/swagger.html", context)
