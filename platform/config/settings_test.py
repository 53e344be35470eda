"""Settings for the test suite: the real settings with tasks run inline and fast password hashing."""

import atexit
import os
import shutil
import tempfile
from pathlib import Path

os.environ.setdefault("MEDBOOK_TESTING", "1")
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
# the suite pays through the sandbox gateway (tests of the switch itself override these settings)
os.environ.setdefault("PAYMENT_SANDBOX_ENABLED", "1")

from config.settings import *  # noqa: E402,F403
from config.settings import Q_CLUSTER, STORAGES  # noqa: E402

Q_CLUSTER["sync"] = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
WHITENOISE_AUTOREFRESH = True

# One SQLite file per test process: parallel runs (developers, CI, helpers) never share a database.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"]["NAME"] = str(VAR_DIR / f"test-medbook-{os.getpid()}.sqlite3")  # noqa: F405
SMS_BACKEND = "workflows.sms.LocmemSMSBackend"

# Uploaded files of one test process in a folder of its own, removed when the process ends (CI runs the
# SQLite and PostgreSQL suites side by side).
if "MEDIA_ROOT" not in os.environ:
    MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="medbook-test-media-"))
    atexit.register(shutil.rmtree, MEDIA_ROOT, True)
