"""``platform/`` is a source root, never a package that shadows the standard library."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_platform_is_the_standard_library_inside_the_test_process():
    import platform
    import uuid

    assert platform.__file__.endswith("platform.py")
    assert "site-packages" not in platform.__file__
    assert isinstance(platform.system(), str) and platform.system()
    assert uuid.uuid4().version == 4


def test_import_platform_is_the_standard_library_from_the_repository_root():
    code = "import uuid, platform, sys; platform.system(); print(platform.__file__); print(uuid.uuid4())"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.splitlines()[0].endswith("platform.py")


def test_platform_folder_has_no_init_module():
    assert not (ROOT / "platform" / "__init__.py").exists()


def test_manage_py_loads_platform_apps_and_still_sees_the_standard_library():
    code = "import runpy, sys; sys.argv=['manage.py','check']; runpy.run_path('manage.py', run_name='__main__')"
    env = {"DEBUG": "1", "PATH": "/usr/bin:/bin", "HOME": str(ROOT / "var")}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    probe = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "import platform, accounts; print(platform.system(), accounts.__name__)",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip().splitlines()[-1].split()[1] == "accounts"


def test_manage_py_uses_development_defaults_only_without_a_secret_key():
    base = {"PATH": "/usr/bin:/bin", "HOME": str(ROOT / "var")}
    code = "from django.conf import settings; print(settings.DEBUG)"
    dev = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, capture_output=True, text=True, env=base
    )
    assert dev.returncode == 0, dev.stderr
    assert dev.stdout.strip().splitlines()[-1] == "True"
    prod = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={
            **base,
            "SECRET_KEY": "x" * 50,
            "JWT_PRIVATE_KEY_FILE": str(ROOT / "var" / "dev-jwt-private-key.pem"),
            "FIELD_ENCRYPTION_KEYS": "0lXwy0yxfT2t2Gk3nW6J0m9bJbq3mO4o7nK0e4J2VvA=",
        },
    )
    assert prod.returncode == 0, prod.stderr
    assert prod.stdout.strip().splitlines()[-1] == "False"
