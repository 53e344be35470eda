import json
import sys
from types import SimpleNamespace

from django.conf import settings
from django.http import HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.csrf import csrf_failure as django_csrf_failure
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from core.health import check_broker, check_cache, check_database, check_worker
from core.unavailable import database_unavailable, retry_after_seconds, server_error_response, unavailable_response


@require_GET
def favicon(request):
    """Browsers ask for ``/favicon.ico`` whatever a page declares: send them to the clinic's logo."""
    return HttpResponsePermanentRedirect(static("medbook/logo.svg"))


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
