"""Backup and restore building blocks on real files (SQLite's online backup, the media archive).

The whole round trip through ``manage.py backup``/``restore`` on PostgreSQL with pg_dump and
pg_restore runs against the black-box stack (tests/blackbox/test_operations.py).
"""

from __future__ import annotations

import io
import sqlite3
import tarfile

import pytest

from core.backup import media_archive, media_restore, sqlite_copy


def _rows(path) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT name FROM visit ORDER BY name").fetchall()


def test_a_sqlite_copy_brings_back_the_rows_as_they_were(tmp_path):
    live, saved = tmp_path / "live.sqlite3", tmp_path / "saved.sqlite3"
    with sqlite3.connect(live) as conn:
        conn.execute("CREATE TABLE visit (name TEXT)")
        conn.execute("INSERT INTO visit VALUES ('before')")
    sqlite_copy(live, saved)
    with sqlite3.connect(live) as conn:
        conn.execute("INSERT INTO visit VALUES ('after')")
        conn.execute("DELETE FROM visit WHERE name = 'before'")
    assert _rows(live) == [("after",)]

    sqlite_copy(saved, live)
    assert _rows(live) == [("before",)]


def test_the_media_archive_restores_files_and_drops_newer_ones(tmp_path):
    media = tmp_path / "media"
    (media / "doctors").mkdir(parents=True)
    (media / "doctors" / "photo.jpg").write_bytes(b"jpeg")
    (media / "note.txt").write_text("kept")
    archive = tmp_path / "media.tar.gz"
    assert media_archive(media, archive) == 2

    (media / "note.txt").write_text("changed")
    (media / "later.txt").write_text("added after the backup")
    (media / "doctors" / "photo.jpg").unlink()
    assert media_restore(archive, media) == 2
    assert sorted(str(p.relative_to(media)) for p in media.rglob("*") if p.is_file()) == [
        "doctors/photo.jpg",
        "note.txt",
    ]
    assert (media / "note.txt").read_text() == "kept"


def test_an_archive_cannot_write_outside_the_media_folder(tmp_path):
    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("../outside.txt")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"evil"))
    with pytest.raises(tarfile.TarError):
        media_restore(archive, tmp_path / "media")
    assert not (tmp_path / "outside.txt").exists()
