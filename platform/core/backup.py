"""Backups of the database and the media files, and restoring them (``manage.py backup`` / ``restore``).

A backup is a folder holding ``manifest.json``, the database (``database.dump``, PostgreSQL's
custom format from ``pg_dump``, or ``database.sqlite3``, a consistent copy made with SQLite's
online backup API), ``media.tar.gz`` (everything under ``MEDIA_ROOT``) and ``documents.tar.gz``
(the encrypted visit documents under ``CLINICAL_DOCUMENTS_DIR``, kept outside the media folder;
their key is ``FIELD_ENCRYPTION_KEYS``, which a backup does not hold). Restoring replaces the
database's contents and both folders with the backup's; stop the web processes and the worker
first (README "Deploying").
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db import connections

MANIFEST = "manifest.json"
MEDIA_ARCHIVE = "media.tar.gz"
DOCUMENTS_ARCHIVE = "documents.tar.gz"


class BackupError(Exception):
    pass


def _database() -> dict:
    return connections["default"].settings_dict


def _vendor() -> str:
    return connections["default"].vendor


def _pg_env(db: dict) -> tuple[list[str], dict[str, str]]:
    args = ["--host", db.get("HOST") or "localhost", "--port", str(db.get("PORT") or 5432)]
    if db.get("USER"):
        args += ["--username", db["USER"]]
    env = {**os.environ}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    return args, env


def _run(argv: list[str], env: dict[str, str]) -> None:
    if shutil.which(argv[0]) is None:
        raise BackupError(
            f"{argv[0]} is not installed (PostgreSQL's client programs, e.g. apt-get install postgresql-client)"
        )
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)  # noqa: S603 - fixed program, our arguments
    if result.returncode != 0:
        raise BackupError(f"{argv[0]} failed ({result.returncode}): {result.stderr.strip()[:2000]}")


def sqlite_copy(source: Path | str, target: Path | str) -> None:
    """Copy a SQLite database consistently, even while others write to it (online backup API)."""
    with sqlite3.connect(str(source)) as src, sqlite3.connect(str(target)) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def media_archive(media_root: Path, archive: Path) -> int:
    """Pack ``media_root`` into ``archive``; returns the number of files."""
    count = 0
    with tarfile.open(archive, "w:gz") as tar:
        if media_root.exists():
            for path in sorted(media_root.rglob("*")):
                if path.is_file():
                    tar.add(path, arcname=str(path.relative_to(media_root)))
                    count += 1
    return count


def media_restore(archive: Path, media_root: Path) -> int:
    """Replace the contents of ``media_root`` with ``archive``'s; returns the number of files."""
    staging = media_root.with_name(media_root.name + ".restoring")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with tarfile.open(archive, "r:gz") as tar:
        members = [m for m in tar.getmembers() if m.isfile()]
        tar.extractall(staging, members=members, filter="data")  # refuses absolute paths and ../
    old = media_root.with_name(media_root.name + ".replaced")
    shutil.rmtree(old, ignore_errors=True)
    if media_root.exists():
        media_root.rename(old)
    staging.rename(media_root)
    shutil.rmtree(old, ignore_errors=True)
    return len(members)


def backup(target_dir: Path) -> Path:
    """Write a backup into a new folder under ``target_dir``; returns that folder."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    folder = Path(target_dir) / f"medbook-{stamp}"
    folder.mkdir(parents=True, exist_ok=False)
    db = _database()
    vendor = _vendor()
    if vendor == "postgresql":
        args, env = _pg_env(db)
        _run(
            ["pg_dump", *args, "--format=custom", "--no-owner", "--file", str(folder / "database.dump"), db["NAME"]],
            env,
        )
        database_file = "database.dump"
    elif vendor == "sqlite":
        sqlite_copy(db["NAME"], folder / "database.sqlite3")
        database_file = "database.sqlite3"
    else:
        raise BackupError(f"backups of {vendor} databases are not supported")
    files = media_archive(Path(settings.MEDIA_ROOT), folder / MEDIA_ARCHIVE)
    documents = media_archive(_documents_dir(), folder / DOCUMENTS_ARCHIVE)
    manifest = {
        "created_at": stamp,
        "database": {"vendor": vendor, "file": database_file},
        "media_files": files,
        "document_files": documents,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return folder


def restore(folder: Path) -> dict:
    """Replace the database and the media files with the backup in ``folder``; returns its manifest."""
    folder = Path(folder)
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(f"{folder} is not a Medbook backup ({exc})") from None
    vendor = _vendor()
    if manifest["database"]["vendor"] != vendor:
        raise BackupError(f"the backup is of a {manifest['database']['vendor']} database, this one is {vendor}")
    db = _database()
    connections.close_all()
    source = folder / manifest["database"]["file"]
    if vendor == "postgresql":
        args, env = _pg_env(db)
        _run(
            [
                "pg_restore",
                *args,
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                "--dbname",
                db["NAME"],
                str(source),
            ],
            env,
        )
    else:
        sqlite_copy(source, db["NAME"])
    media_restore(folder / MEDIA_ARCHIVE, Path(settings.MEDIA_ROOT))
    if (folder / DOCUMENTS_ARCHIVE).exists():  # backups made before visit documents existed have none
        media_restore(folder / DOCUMENTS_ARCHIVE, _documents_dir())
    return manifest


def _documents_dir() -> Path:
    return Path(getattr(settings, "CLINICAL_DOCUMENTS_DIR", Path(settings.MEDIA_ROOT).parent / "clinical-documents"))
