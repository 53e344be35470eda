"""Medbook settings: one module, driven by the environment, failing loudly on bad values.

Production differs from a laptop only by environment variables (see README "Configuration").
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from core.crypto import key_from_secret, validate_keys
from core.env import (
    EMAIL_SCHEMES,
    envbool,
    envint,
    envlist,
    envstr,
    envtimezone,
    envurl,
    parse_email_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent.parent  # the repository root
PLATFORM_DIR = BASE_DIR / "platform"
VAR_DIR = Path(envstr("MEDBOOK_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = envbool("DEBUG", False)
SECRET_KEY = envstr("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (set DEBUG=1 for local development).")
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"  # noqa: S105
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = envstr("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# Reverse proxies in front of Medbook that append to X-Forwarded-For (0: none, the header is ignored).
# Every rate limit and audit row takes the client IP from core.net.client_ip, which reads this.
TRUSTED_PROXY_COUNT = envint("TRUSTED_PROXY_COUNT", 0, minimum=0, maximum=5)
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT

INSTALLED_APPS = [
    # the admin theme must come before django.contrib.admin
    "unfold",
    "unfold.contrib.filters",
    "unfold.contrib.forms",
    "unfold.contrib.import_export",
    # platform
    "accounts",
    "core",
    # domain and faces
    "booking",
    "workflows.clinic",
    "workflows.clinical",
    "workflows.messaging",
    "workflows.operations",
    "workflows.integrations",
    "workflows",
    "portal",
    "cms",
    # Django
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "django.contrib.humanize",
    # accounts
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",  # per-user session index: deactivating a patient ends their sessions
    "allauth.headless",
    # Wagtail
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.settings",
    "wagtail.contrib.sitemaps",
    "wagtail.contrib.simple_translation",
    "wagtail.locales",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    # workers, API, state machine, exports
    "django_q",
    "ninja",
    "django_fsm_log",
    "import_export",
    "csp",
    # last: re-themes the admins registered above (themes.apps)
    "themes",
    "django.forms",  # the built-in widget templates, for FORM_RENDERER below
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # early, so that it sees every response last: no-store on private areas, Permissions-Policy
    "core.security.PrivacyHeadersMiddleware",
    "core.security.AreaCSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.apimiddleware.ApiEdgeMiddleware",  # /api/ only: per-IP limit, JSON for every error
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.UserPreferencesMiddleware",
    "accounts.middleware.StaffAreaMFAMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "themes" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "wagtail.contrib.settings.context_processors.settings",
                "themes.context_processors.medbook",
                "workflows.messaging.context_processors.unread_messages",
                "portal.context_processors.portal",
            ],
        },
    },
]

# Forms render through the project's templates: themes/templates/django/forms/p.html gives every
# ``form.as_p`` (portal, allauth pages) an error summary at the top and each error at its field.
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

# --- database ---------------------------------------------------------------------------------
# SQLite by default (a file under var/, WAL, IMMEDIATE transactions so that a write transaction
# takes the write lock up front instead of failing half-way); PostgreSQL via DATABASE_URL.
DATABASE_URL = envurl("DATABASE_URL", schemes={"sqlite", "postgres", "postgresql", "pgsql"})
if DATABASE_URL:
    default_db = dj_database_url.parse(DATABASE_URL, conn_max_age=envint("DB_CONN_MAX_AGE", 60, minimum=0))
else:
    default_db = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(VAR_DIR / "medbook.sqlite3")}
if default_db["ENGINE"] == "django.db.backends.sqlite3":
    default_db.setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        }
    )
    default_db.setdefault("TEST", {})["NAME"] = str(VAR_DIR / "test-medbook.sqlite3")
elif default_db["ENGINE"] in {"django.db.backends.postgresql", "django.db.backends.postgresql_psycopg2"}:
    default_db["ENGINE"] = "django.db.backends.postgresql"
    default_db["CONN_HEALTH_CHECKS"] = True
    if envbool("DB_PREPARED_STATEMENTS", True):
        # The hottest statements (core.prepared: the free-slot reads, the bearer token check, the slot
        # claim) are prepared once per connection; Django's own cursors bind on the client and never
        # prepare. 0 behind a pooler in transaction mode that cannot keep prepared statements
        # (PgBouncer before 1.21).
        default_db.setdefault("OPTIONS", {}).setdefault("prepare_threshold", 0)
DATABASES = {"default": default_db}
# A persistent PostgreSQL connection is pinged (SELECT 1) before a request only after it was idle this
# many seconds (core.dbhealth); 0: before every request, as Django does.
DB_HEALTH_CHECK_IDLE_SECONDS = envint("DB_HEALTH_CHECK_IDLE_SECONDS", 5, minimum=0)
# While the database cannot be reached, pages and the API answer 503 with this Retry-After (seconds).
DATABASE_UNAVAILABLE_RETRY_AFTER = envint("DATABASE_UNAVAILABLE_RETRY_AFTER", 30, minimum=1, maximum=3600)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache and background worker --------------------------------------------------------------
REDIS_URL = envurl("REDIS_URL", schemes={"redis", "rediss", "unix"})
if REDIS_URL:
    # Redis, falling back to local memory while it is unreachable (core.cache): degrade, don't fail.
    CACHES = {"default": {"BACKEND": "core.cache.FallbackRedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "medbook"}}

Q_CLUSTER = {
    "name": "medbook",
    "workers": envint("Q_WORKERS", 2, minimum=1),
    "timeout": envint("Q_TIMEOUT", 120, minimum=10),
    "retry": envint("Q_RETRY", 180, minimum=20),
    "max_attempts": envint("Q_MAX_ATTEMPTS", 5, minimum=1),
    "save_limit": 500,
    "catch_up": False,
    "label": _("Background tasks"),
    "sync": envbool("Q_SYNC", False),
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
# the worker is considered alive while its heartbeat task ran within this many seconds
WORKER_HEARTBEAT_MAX_AGE = envint("WORKER_HEARTBEAT_MAX_AGE", 180, minimum=60)

# Outbox rows (core.outbox) are delivered after commit by this task; a periodic sweep retries.
OUTBOX_DELIVERY_TASK = "workflows.tasks.deliver_outbox_message"

# --- booking, payments, messaging ---------------------------------------------------------------
BOOKING_MAX_HOLDS_PER_PATIENT = envint("BOOKING_MAX_HOLDS_PER_PATIENT", 2, minimum=1)
# Doctors' standing weekly hours (booking.AvailabilityRule) are published this many weeks ahead by the
# worker (a rule may set its own); the generator's one-run limit caps it at 12.
AVAILABILITY_RULES_WEEKS_AHEAD = envint("AVAILABILITY_RULES_WEEKS_AHEAD", 4, minimum=1, maximum=12)
# The sandbox gateway is a local checkout page whose Pay button confirms a visit without money: on by
# default only with DEBUG; in production it needs PAYMENT_SANDBOX_ENABLED=1, and then the portal and the
# admin show a "test payments" banner.
PAYMENT_SANDBOX_ENABLED = envbool("PAYMENT_SANDBOX_ENABLED", DEBUG)
# gateways patients may choose, the first is the default
PAYMENT_GATEWAYS = envlist("PAYMENT_GATEWAYS", ["sandbox", "cash"] if PAYMENT_SANDBOX_ENABLED else ["cash"])
if "sandbox" in PAYMENT_GATEWAYS and not PAYMENT_SANDBOX_ENABLED:
    raise ImproperlyConfigured(
        "PAYMENT_GATEWAYS lists the sandbox (test payments without money) while DEBUG is off: "
        "set PAYMENT_SANDBOX_ENABLED=1 to allow it on purpose, or remove it."
    )
# Queued refunds (booking.models.Refund) are sent to their gateway by this task; a sweep retries.
REFUND_DELIVERY_TASK = "workflows.tasks.deliver_refund"
# Invoices and credit notes (booking.services.invoices): issued after commit by these tasks, numbered
# <prefix>-<year>-<6 digits> without gaps; the seller's details printed on them (VAT: the percentage
# included in prices, empty for services without VAT, such as medical examinations in Vietnam).
INVOICE_ISSUE_TASK = "booking.services.invoices.invoice_issue_task"
CREDIT_NOTE_ISSUE_TASK = "booking.services.invoices.credit_note_issue_task"
INVOICE_NUMBER_PREFIX = envstr("INVOICE_NUMBER_PREFIX", "MB") or "MB"
INVOICE_SELLER = {
    "name": envstr("INVOICE_SELLER_NAME", "") or "",  # empty: CLINIC_NAME
    "address": envstr("INVOICE_SELLER_ADDRESS", "") or "",
    "tax_id": envstr("INVOICE_SELLER_TAX_ID", "") or "",
    "phone": envstr("INVOICE_SELLER_PHONE", "") or "",
    "email": envstr("INVOICE_SELLER_EMAIL", "") or "",
}
INVOICE_VAT_PERCENT = envstr("INVOICE_VAT_PERCENT", "") or ""
if INVOICE_VAT_PERCENT and not re.fullmatch(r"\d{1,2}(\.\d{1,2})?", INVOICE_VAT_PERCENT.strip()):
    raise ImproperlyConfigured(f"INVOICE_VAT_PERCENT={INVOICE_VAT_PERCENT!r} is not a percentage such as 8 or 10")
STRIPE_SECRET_KEY = envstr("STRIPE_SECRET_KEY", "")
STRIPE_WEBHOOK_SECRET = envstr("STRIPE_WEBHOOK_SECRET", "")
STRIPE_API_BASE = envstr("STRIPE_API_BASE", "https://api.stripe.com")
STRIPE_WEBHOOK_TOLERANCE = envint("STRIPE_WEBHOOK_TOLERANCE", 300, minimum=30)
# SMS: "console" (logs) by default; a provider backend is a dotted path to a class with send(to, text)
SMS_BACKEND = envstr("SMS_BACKEND", "workflows.sms.ConsoleSMSBackend")
# seconds a provider call may take before it counts as failed (and is retried by the outbox)
SMS_TIMEOUT = envint("SMS_TIMEOUT", 10, minimum=1, maximum=60)
# local numbers ("0909 000 111") are written as +<code><number without the leading 0> for providers
SMS_DEFAULT_COUNTRY_CODE = envstr("SMS_DEFAULT_COUNTRY_CODE", "84") or ""
# reminders are not texted at night in the recipient's zone ("HH:MM-HH:MM"; empty: no quiet hours);
# a reminder that falls in them is deferred to their end, not dropped
SMS_QUIET_HOURS = envstr("SMS_QUIET_HOURS", "21:00-07:00") or ""
# Twilio (workflows.sms.TwilioSMSBackend): the account SID and auth token, and who the message is from
TWILIO_ACCOUNT_SID = envstr("TWILIO_ACCOUNT_SID", "") or ""
TWILIO_AUTH_TOKEN = envstr("TWILIO_AUTH_TOKEN", "") or ""
TWILIO_FROM_NUMBER = envstr("TWILIO_FROM_NUMBER", "") or ""
TWILIO_MESSAGING_SERVICE_SID = envstr("TWILIO_MESSAGING_SERVICE_SID", "") or ""
TWILIO_API_BASE = (envstr("TWILIO_API_BASE", "https://api.twilio.com") or "").rstrip("/")
# A generic HTTP-JSON gateway (workflows.sms.HttpJsonSMSBackend), e.g. a local operator's API
SMS_HTTP_URL = envstr("SMS_HTTP_URL", "") or ""
SMS_HTTP_AUTH_HEADER = envstr("SMS_HTTP_AUTH_HEADER", "Authorization") or ""
SMS_HTTP_AUTH_VALUE = envstr("SMS_HTTP_AUTH_VALUE", "") or ""
SMS_HTTP_FROM = envstr("SMS_HTTP_FROM", "") or ""
SMS_HTTP_FIELDS = {
    "to": envstr("SMS_HTTP_FIELD_TO", "to"),
    "text": envstr("SMS_HTTP_FIELD_TEXT", "text"),
    "from": envstr("SMS_HTTP_FIELD_FROM", "from"),
    "callback": envstr("SMS_HTTP_FIELD_CALLBACK", "callback_url"),
    # in the gateway's answer and in its status callbacks (dotted paths, e.g. "data.id")
    "id": envstr("SMS_HTTP_FIELD_ID", "id"),
    "status": envstr("SMS_HTTP_FIELD_STATUS", "status"),
    "error": envstr("SMS_HTTP_FIELD_ERROR", "error_code"),
}
# status callbacks and inbound messages from the gateway carry a hex HMAC-SHA256 of the raw body
SMS_HTTP_WEBHOOK_SECRET = envstr("SMS_HTTP_WEBHOOK_SECRET", "") or ""
SMS_HTTP_SIGNATURE_HEADER = envstr("SMS_HTTP_SIGNATURE_HEADER", "X-Signature") or ""
# outbound webhooks (workflows.integrations): private and loopback targets (and plain http) only
# when allowed, for a receiver on the clinic's own network; a delivery attempt waits this long
WEBHOOKS_ALLOW_PRIVATE_TARGETS = envbool("WEBHOOKS_ALLOW_PRIVATE_TARGETS", False)
WEBHOOKS_TIMEOUT = envint("WEBHOOKS_TIMEOUT", 10, minimum=1, maximum=60)
WEBHOOKS_MAX_ATTEMPTS = envint("WEBHOOKS_MAX_ATTEMPTS", 8, minimum=1, maximum=30)
WEBHOOK_DELIVERY_TASK = "workflows.integrations.tasks.deliver_webhook"
REMINDER_LEADS_MINUTES = [int(x) for x in envlist("REMINDER_LEADS_MINUTES", ["1440", "60"])]

# Video visits (Agora). Unset app id and certificate: the video page says video is not configured.
AGORA_APP_ID = envstr("AGORA_APP_ID", "") or ""
AGORA_APP_CERTIFICATE = envstr("AGORA_APP_CERTIFICATE", "") or ""
if bool(AGORA_APP_ID) != bool(AGORA_APP_CERTIFICATE):
    raise ImproperlyConfigured("Set both AGORA_APP_ID and AGORA_APP_CERTIFICATE (or neither, to switch video off).")
for _name, _value in (("AGORA_APP_ID", AGORA_APP_ID), ("AGORA_APP_CERTIFICATE", AGORA_APP_CERTIFICATE)):
    if _value and (len(_value) != 32 or not _value.isalnum()):
        raise ImproperlyConfigured(f"{_name} must be the 32-character value from the Agora console")
# the call can be joined from this many minutes before the start until the end plus the grace period
VIDEO_JOIN_BEFORE_MINUTES = envint("VIDEO_JOIN_BEFORE_MINUTES", 10, minimum=0, maximum=60)
VIDEO_GRACE_MINUTES = envint("VIDEO_GRACE_MINUTES", 15, minimum=0, maximum=240)
# A simulated call (no Agora join/publish) for browser tests; refused outside development and tests.
VIDEO_TEST_MODE = envbool("VIDEO_TEST_MODE", False)
if VIDEO_TEST_MODE and not DEBUG and not envbool("MEDBOOK_TESTING", False):
    raise ImproperlyConfigured("VIDEO_TEST_MODE simulates calls and may only be used with DEBUG=1 or in tests.")
# a message still unread after this many minutes is announced to its recipient by email
MESSAGING_UNREAD_EMAIL_MINUTES = envint("MESSAGING_UNREAD_EMAIL_MINUTES", 5, minimum=1)

# --- clinic back office (workflows.clinic) ------------------------------------------------------------
# An overdue doctor subscription makes the doctor's slots unbookable and unlisted.
SUBSCRIPTION_OVERDUE_BLOCKS_BOOKING = envbool("SUBSCRIPTION_OVERDUE_BLOCKS_BOOKING", True)
# Task run after a doctor application is approved to create their draft profile page (empty: none).
CLINIC_DOCTOR_PROFILE_SYNC_TASK = envstr("CLINIC_DOCTOR_PROFILE_SYNC_TASK", "cms.tasks.sync_doctor_profiles")
# Public doctor applications accepted per client IP and hour.
CLINIC_APPLICATIONS_PER_HOUR = envint("CLINIC_APPLICATIONS_PER_HOUR", 5, minimum=1)

# --- clinical record (workflows.clinical) ----------------------------------------------------------
# Staff see that a visit note exists; with this on they may also read its content (off: doctors and
# admins only).
CLINICAL_STAFF_READ_NOTES = envbool("CLINICAL_STAFF_READ_NOTES", False)
# Documents attached to visits: encrypted files in this folder (never under MEDIA_ROOT), at most this size.
CLINICAL_DOCUMENTS_DIR = Path(envstr("CLINICAL_DOCUMENTS_DIR", str(VAR_DIR / "clinical-documents")))
CLINICAL_DOCUMENT_MAX_MB = envint("CLINICAL_DOCUMENT_MAX_MB", 10, minimum=1, maximum=100)

# --- accounts ---------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "accounts_home"
ACCOUNT_ADAPTER = "accounts.adapter.MedbookAccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
# Patients sign in with their email or their verified mobile number (password, or a code by SMS);
# staff, doctors and admins with their email, password and MFA only (accounts.adapter: a phone
# signs in patients only).
ACCOUNT_LOGIN_METHODS = {"email", "phone"}
# The fewest fields first: name (PatientSignupForm), an email or a mobile number (or both) and one
# password (accounts.signup_forms.MedbookSignupForm: "email*" is listed because allauth's mandatory
# email verification requires it, the form accepts a phone instead); ID number is asked at booking.
ACCOUNT_SIGNUP_FIELDS = ["email*", "phone", "password1*"]
# Phone numbers: verified by a 6-digit code texted through SMS_BACKEND; one new code per 30 seconds
# (ACCOUNT_RATE_LIMITS), at most 3 tries of a code, at most 3 resends.
# (A typo in the number: cancel and sign up again; allauth's "change number" form is off.)
ACCOUNT_PHONE_VERIFICATION_ENABLED = True
ACCOUNT_PHONE_VERIFICATION_TIMEOUT = 10 * 60
ACCOUNT_PHONE_VERIFICATION_CODE_FORMAT = {"numeric": True, "length": 6, "dashed": False}
ACCOUNT_PHONE_VERIFICATION_MAX_ATTEMPTS = 3
ACCOUNT_PHONE_VERIFICATION_SUPPORTS_RESEND = 3
# "Sign in with a code" texts a code to a patient's verified number (accounts.signup_forms.PhoneLoginCodeForm).
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_BY_CODE_TIMEOUT = 10 * 60
ACCOUNT_LOGIN_BY_CODE_MAX_ATTEMPTS = 3
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
# Verification by a 6-digit code typed in the same browser tab: a visitor who picked a slot never leaves
# the booking flow for a link in the mail (a link opened elsewhere would lose the chosen slot).
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = True
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_TIMEOUT = 15 * 60
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_FORMAT = {"numeric": True, "length": 6, "dashed": False}  # "482913"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
# The clinic's name in every account email (subject, header, signature) and on the site's header.
CLINIC_NAME = envstr("CLINIC_NAME") or "Medbook"
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"{CLINIC_NAME}: "
ACCOUNT_SIGNUP_FORM_CLASS = "accounts.forms.PatientSignupForm"
ACCOUNT_FORMS = {
    "confirm_email_verification_code": "accounts.code_forms.EmailVerificationCodeForm",
    "signup": "accounts.signup_forms.MedbookSignupForm",
    "request_login_code": "accounts.signup_forms.PhoneLoginCodeForm",
    "change_phone": "accounts.signup_forms.PatientChangePhoneForm",
    "verify_phone": "accounts.code_forms.PhoneVerificationCodeForm",
    "confirm_login_code": "accounts.code_forms.LoginCodeForm",
}
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "confirm_email": "1/3m/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
    # every SMS costs money and can be abused to text strangers ("SMS pumping"): per number (key)
    # and per client IP, per minute and per hour
    "verify_phone": "1/30s/key,5/h/key,3/m/ip,20/h/ip",
    "request_login_code": "1/30s/key,5/h/key,3/m/ip,20/h/ip",
    "change_phone": "1/m/user,5/h/user",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Medbook"
# Staff, doctors and admins must set up MFA before entering /admin/ or /cms/ (recommended in
# production; off by default so the demo accounts work out of the box).
MEDBOOK_REQUIRE_STAFF_MFA = envbool("MEDBOOK_REQUIRE_STAFF_MFA", False)

# allauth headless: apps log in at /_allauth/app/v1/auth/login and use the JWT access token as a
# bearer token for /api/v1/.
HEADLESS_TOKEN_STRATEGY = "allauth.headless.tokens.strategies.jwt.JWTTokenStrategy"  # noqa: S105
# allauth's own OpenAPI specification (login, refresh, logout) at /_allauth/openapi.json, linked from
# /api/v1/docs; its HTML page would load Redoc from a CDN, so it is off.
HEADLESS_SERVE_SPECIFICATION = True
HEADLESS_SPECIFICATION_TEMPLATE_NAME = None
# Access tokens live at most 5 minutes, and are checked against their session on every request
# (stateful validation): ending a session (password change or reset, MFA switched on, deactivation,
# sign-out) stops its access token at once, not only its refresh token.
HEADLESS_JWT_ACCESS_TOKEN_EXPIRES_IN = envint("JWT_ACCESS_TOKEN_EXPIRES_IN", 300, minimum=60, maximum=300)
HEADLESS_JWT_STATEFUL_VALIDATION_ENABLED = True
HEADLESS_JWT_REFRESH_TOKEN_EXPIRES_IN = envint("JWT_REFRESH_TOKEN_EXPIRES_IN", 86400, minimum=300)
HEADLESS_JWT_PRIVATE_KEY = envstr("JWT_PRIVATE_KEY") or ""
if not HEADLESS_JWT_PRIVATE_KEY and envstr("JWT_PRIVATE_KEY_FILE"):
    HEADLESS_JWT_PRIVATE_KEY = Path(envstr("JWT_PRIVATE_KEY_FILE")).read_text()
if not HEADLESS_JWT_PRIVATE_KEY:
    if not DEBUG and not envbool("MEDBOOK_TESTING", False):
        raise ImproperlyConfigured(
            "JWT_PRIVATE_KEY or JWT_PRIVATE_KEY_FILE (an RSA private key in PEM) must be set when DEBUG is off."
        )
    from core.keys import dev_jwt_private_key

    HEADLESS_JWT_PRIVATE_KEY = dev_jwt_private_key(VAR_DIR / "dev-jwt-private-key.pem")
# Field-level encryption at rest (core.crypto): comma-separated Fernet keys, the newest first; reads try
# them all, `manage.py reencrypt` rewrites every encrypted column with the first. Development (DEBUG) and
# the tests derive a key from SECRET_KEY; production must set it, or start-up fails.
FIELD_ENCRYPTION_KEYS = envlist("FIELD_ENCRYPTION_KEYS", [])
if not FIELD_ENCRYPTION_KEYS:
    if not DEBUG and not envbool("MEDBOOK_TESTING", False):
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS (comma-separated Fernet keys, the newest first) must be set when DEBUG is off."
        )
    FIELD_ENCRYPTION_KEYS = [key_from_secret(SECRET_KEY)]
validate_keys(FIELD_ENCRYPTION_KEYS)

HEADLESS_FRONTEND_URLS = {
    "account_confirm_email": "/accounts/confirm-email/{key}/",
    "account_reset_password_from_key": "/accounts/password/reset/key/{key}/",
    "account_signup": "/accounts/signup/",
}

# --- JSON API (/api/v1/) ----------------------------------------------------------------------
# Requests allowed per window of API_RATE_LIMIT_WINDOW seconds, per client IP (every /api/ request,
# before authentication) and per authenticated user; 0 switches a limit off. Counters live in the
# cache: set REDIS_URL when several web processes run.
API_RATE_LIMIT_WINDOW = envint("API_RATE_LIMIT_WINDOW", 60, minimum=1, maximum=3600)
API_RATE_LIMIT_PER_IP = envint("API_RATE_LIMIT_PER_IP", 600, minimum=0)
API_RATE_LIMIT_PER_USER = envint("API_RATE_LIMIT_PER_USER", 300, minimum=0)
# Public reads whose anonymous GETs the API edge answers before sessions, auth, locale and the router
# (core.apimiddleware): {path regex: handler}; a handler leaves anything it would refuse to the route.
API_FAST_READS = {r"^/api/v1/doctor/(?P<doctor_id>[0-9]+)/schedules$": "booking.api.scheduling.fast_free_slots"}
# Writes whose POSTs with a bearer token (and no session cookie) the API edge hands to their handler
# before sessions, locale, messages and the router; a handler leaves what it does not handle plainly
# to the route (core.apimiddleware).
API_FAST_WRITES = {r"^/api/v1/appointments$": "booking.api.appointments.fast_book"}
# A CSRF failure under /api/ answers in the API's JSON error shape; elsewhere Django's page.
CSRF_FAILURE_VIEW = "core.views.csrf_failure"

# --- i18n and time ----------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("vi", _("Tiếng Việt"))]
# themes/locale: Medbook's own strings (makemessages writes here). themes/locale_thirdparty:
# Vietnamese for packages that ship none (django-allauth), maintained by hand.
LOCALE_PATHS = [BASE_DIR / "themes" / "locale", BASE_DIR / "themes" / "locale_thirdparty"]
USE_I18N = True
USE_TZ = True  # every datetime is stored in UTC
# One date style per language (config/formats/<lang>/formats.py), read by core.dates and the admin.
FORMAT_MODULE_PATH = ["config.formats"]
# The clinic's zone: what staff see in the admin and the default for users who have not chosen one.
TIME_ZONE = envtimezone("TIME_ZONE", "Asia/Ho_Chi_Minh")
CLINIC_TIME_ZONE = TIME_ZONE
# Pages exist per language (Wagtail locales en/vi, translated with simple_translation). One address
# serves a page in the visitor's language, chosen with the same switcher as the portal (the cookie set
# by /i18n/setlang/); cms.models.HomePage.route picks the translation.
WAGTAIL_I18N_ENABLED = True
WAGTAIL_CONTENT_LANGUAGES = LANGUAGES

# --- static and media -------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(envstr("STATIC_ROOT", str(BASE_DIR / "static_collected")))
STATICFILES_DIRS = [BASE_DIR / "themes" / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(envstr("MEDIA_ROOT", str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- email ------------------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "Medbook <no-reply@medbook.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
globals().update(parse_email_url(envurl("EMAIL_URL", schemes=EMAIL_SCHEMES)))

# --- security ---------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = envint("SESSION_COOKIE_AGE", 60 * 60 * 12, minimum=300)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "SAMEORIGIN"
# A control character typed into a name must not make the admin's XLSX export fail: it becomes "�".
IMPORT_EXPORT_ESCAPE_ILLEGAL_CHARS_ON_EXPORT = True
# Wagtail's live page preview renders the page in a same-origin iframe, which DENY would break;
# SAMEORIGIN still refuses framing by any other site.
SILENCED_SYSTEM_CHECKS = ["security.W019"]
SECURE_REFERRER_POLICY = "same-origin"

# Content-Security-Policy (django-csp 4). Scripts: our own files plus inline scripts carrying the
# request's nonce; no 'unsafe-inline' for scripts. Styles allow inline: Unfold, Wagtail and the
# templates use style attributes, and a style cannot run code. Areas built by third parties that
# cannot run under this policy get a relaxation for their paths only (CSP_AREA_RELAXATIONS).
from csp.constants import NONCE, NONE, SELF, UNSAFE_EVAL, UNSAFE_INLINE  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:", "blob:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "media-src": [SELF, "blob:"],
        "worker-src": [SELF, "blob:"],
        "frame-src": [SELF],
        "frame-ancestors": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        # Stripe Checkout is reached by a redirect after our own form posts: form-action covers it.
        "form-action": [SELF, "https://checkout.stripe.com"],
    }
}
CSP_AREA_RELAXATIONS = {
    # Unfold's admin is driven by Alpine.js, whose standard build evaluates the x-data/x-on
    # expressions with new Function(): it cannot run without 'unsafe-eval'. Unfold ships no CSP build.
    "/admin/": {"script-src": [SELF, NONCE, UNSAFE_EVAL]},
    # Wagtail's admin still writes inline <script> for its date/time widgets and inline panels, and
    # carries no nonce (a nonce in the list would make browsers ignore 'unsafe-inline').
    "/cms/": {"script-src": [SELF, UNSAFE_INLINE]},
    # The video page talks to Agora's servers (https and WebSocket) when Agora is configured.
    "portal:video_visit": {
        "connect-src": [SELF, "https://*.agora.io", "wss://*.agora.io", "https://*.sd-rtn.com", "wss://*.sd-rtn.com"]
    },
}
if not DEBUG:
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", True)
    if envbool("BEHIND_TLS_PROXY", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Wagtail ----------------------------------------------------------------------------------
WAGTAIL_SITE_NAME = "Medbook"
WAGTAILADMIN_BASE_URL = SITE_URL
# Through the same hand-over as /admin/login/: a signed-in account without CMS access gets the
# "not part of your account" page (Wagtail would send it to allauth's login, which sends it back).
WAGTAILADMIN_LOGIN_URL = "cms_login_redirect"
WAGTAIL_FRONTEND_LOGIN_URL = "account_login"
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
WAGTAILDOCS_EXTENSIONS = ["pdf", "docx", "odt", "txt"]
# The editors' browsers call no third party: no Gravatar images (they would tell Gravatar who opens
# the CMS) and no release check against wagtail.org; the CSP refuses both anyway.
WAGTAIL_GRAVATAR_PROVIDER_URL = None
WAGTAIL_ENABLE_UPDATE_CHECK = False

# --- admin theme ------------------------------------------------------------------------------
from themes.unfold import UNFOLD  # noqa: E402,F401

# --- logging ----------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "stream": sys.stderr}},
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # one line per background index update is noise for a clinic's logs
        "django_tasks": {"level": "WARNING"},
        "wagtail": {"level": envstr("WAGTAIL_LOG_LEVEL", "WARNING")},
    },
}
