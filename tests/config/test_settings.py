"""Settings come from the environment and refuse bad values loudly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from core.env import envbool, envint, envtimezone, parse_email_url

ROOT = Path(__file__).resolve().parents[2]


def run_django(env_overrides: dict[str, str], code: str = "import django; django.setup(); print('ok')"):
    env = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "DATABASE_URL"}}
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings", "PYTHONPATH": f"{ROOT / 'platform'}:{ROOT}"})
    env.update(env_overrides)
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "0"}, "SECRET_KEY must be set"),
        ({"DEBUG": "maybe"}, "DEBUG='maybe' is not a boolean"),
        ({"DEBUG": "1", "TIME_ZONE": "Mars/Olympus"}, "not an IANA time zone"),
        ({"DEBUG": "1", "DATABASE_URL": "mysql://localhost/x"}, "DATABASE_URL has scheme 'mysql'"),
        ({"DEBUG": "1", "EMAIL_URL": "smpt://mail.example.com"}, "EMAIL_URL has scheme 'smpt'"),
        ({"DEBUG": "1", "REDIS_URL": "http://localhost"}, "REDIS_URL has scheme 'http'"),
        ({"DEBUG": "1", "Q_WORKERS": "many"}, "Q_WORKERS='many' is not an integer"),
        ({"DEBUG": "0", "SECRET_KEY": "x" * 60}, "JWT_PRIVATE_KEY"),
        ({"DEBUG": "0", "SECRET_KEY": "x" * 60, "JWT_PRIVATE_KEY": "pem"}, "FIELD_ENCRYPTION_KEYS (comma-separated"),
        ({"DEBUG": "1", "FIELD_ENCRYPTION_KEYS": "not-a-key"}, "FIELD_ENCRYPTION_KEYS: key 1 is not a Fernet key"),
    ],
)
def test_bad_environment_stops_start_up_with_a_message_naming_the_variable(env, message):
    result = run_django(env)
    assert result.returncode != 0
    assert message in result.stderr


def test_check_deploy_is_clean_with_a_production_like_environment(tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    key_file = tmp_path / "jwt.pem"
    key_file.write_bytes(key)
    env = {
        "DEBUG": "0",
        "SECRET_KEY": "prod-like-" + "k3y!" * 16,
        "ALLOWED_HOSTS": "clinic.example.com",
        "JWT_PRIVATE_KEY_FILE": str(key_file),
        "EMAIL_URL": "smtp+tls://mailer:pw@smtp.example.com:587",
        "MEDBOOK_VAR_DIR": str(tmp_path),
        "FIELD_ENCRYPTION_KEYS": "0lXwy0yxfT2t2Gk3nW6J0m9bJbq3mO4o7nK0e4J2VvA=",
    }
    code = "import sys; from django.core.management import execute_from_command_line; execute_from_command_line(['manage.py', 'check', '--deploy', '--fail-level', 'WARNING'])"
    result = run_django(env, code)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_clinic_time_zone_defaults_to_ho_chi_minh_and_storage_is_utc(settings):
    assert settings.TIME_ZONE == "Asia/Ho_Chi_Minh"
    assert settings.USE_TZ is True


def test_sqlite_default_uses_wal_and_immediate_transactions(db):
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("SQLite-only behaviour")
    assert connection.settings_dict["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0].lower() == "wal"


def test_env_helpers_parse_and_refuse(monkeypatch):
    monkeypatch.setenv("FLAG", "yes")
    assert envbool("FLAG", False) is True
    monkeypatch.setenv("FLAG", "nope")
    with pytest.raises(ImproperlyConfigured):
        envbool("FLAG", False)
    monkeypatch.setenv("N", "3")
    assert envint("N", 1, minimum=1) == 3
    monkeypatch.setenv("N", "0")
    with pytest.raises(ImproperlyConfigured, match="below the minimum"):
        envint("N", 1, minimum=1)
    monkeypatch.setenv("TZ_NAME", "Europe/Paris")
    assert envtimezone("TZ_NAME", "UTC") == "Europe/Paris"


def test_email_url_maps_to_django_settings():
    smtp = parse_email_url("smtp+tls://user%40x:p%40ss@mail.example.com:2525?from=clinic@example.com")
    assert smtp["EMAIL_HOST"] == "mail.example.com"
    assert smtp["EMAIL_PORT"] == 2525
    assert smtp["EMAIL_HOST_USER"] == "user@x"
    assert smtp["EMAIL_HOST_PASSWORD"] == "p@ss"
    assert smtp["EMAIL_USE_TLS"] is True
    assert smtp["DEFAULT_FROM_EMAIL"] == "clinic@example.com"
    assert parse_email_url("smtps://mail.example.com")["EMAIL_PORT"] == 465
    assert parse_email_url(None)["EMAIL_BACKEND"].endswith("console.EmailBackend")
    assert parse_email_url("file:///tmp/mail")["EMAIL_FILE_PATH"] == "/tmp/mail"
    with pytest.raises(ImproperlyConfigured):
        parse_email_url("smtp://")
