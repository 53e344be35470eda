"""The peer: a minimal Django project around django-appointment 3.12 (the maintained Django booking
app), written by the harness under ``var/bench/peer/`` and run from its own virtualenv.

Settings come from the environment: ``PEER_DB`` (``sqlite`` or ``pg``), ``PEER_SQLITE`` (the file),
``PEER_PG_NAME``/``PEER_PG_HOST``/``PEER_PG_PORT``. DEBUG is off; ``/ok/`` is a trivial view (no
database, no template) that serves as the unit: what one request costs Django itself on this machine.
"""

from __future__ import annotations

from pathlib import Path

SETTINGS = """
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "bench-peer-secret-key-not-for-production-0123456789"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "appointment",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "peerproject.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]
WSGI_APPLICATION = "peerproject.wsgi.application"
if os.environ.get("PEER_DB") == "pg":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ["PEER_PG_NAME"],
            "USER": os.environ.get("PEER_PG_USER", "postgres"),
            "HOST": os.environ.get("PEER_PG_HOST", "127.0.0.1"),
            "PORT": os.environ.get("PEER_PG_PORT", "5432"),
            "CONN_MAX_AGE": 60,  # as Medbook's DB_CONN_MAX_AGE default
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("PEER_SQLITE", str(BASE_DIR / "peer.sqlite3")),
        }
    }
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
APPOINTMENT_WEBSITE_NAME = "Clinic Peer"
APPOINTMENT_SLOT_DURATION = 30
APPOINTMENT_LEAD_TIME = (8, 0)
APPOINTMENT_FINISH_TIME = (17, 0)
APPOINTMENT_BUFFER_TIME = 0
# no EMAIL_HOST: the package sees no email settings and sends nothing; locmem in case anything does
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
LOGIN_REDIRECT_URL = "/ok/"
"""

URLS = '''
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpResponse
from django.urls import include, path


def ok(request):
    """The unit: a trivial view, no database, no template."""
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(template_name="admin/login.html"), name="login"),
    path("appointment/", include("appointment.urls")),
    path("ok/", ok),
]
'''

WSGI = """
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peerproject.settings")
application = get_wsgi_application()
"""

MANAGE = """
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peerproject.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
"""


def write(root: Path) -> None:
    """(Re)write the peer project under ``root``."""
    package = root / "peerproject"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("")
    (package / "settings.py").write_text(SETTINGS.lstrip())
    (package / "urls.py").write_text(URLS.lstrip())
    (package / "wsgi.py").write_text(WSGI.lstrip())
    (root / "manage.py").write_text(MANAGE.lstrip())
