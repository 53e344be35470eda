"""Operations on the real stack: `make serve` (what `make run` ends with) links to its own port and
stops cleanly on SIGTERM to its process group; backup and restore of PostgreSQL and media."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time

import httpx

from tests.blackbox.helpers import book_first_free_slot
from tests.blackbox.stack import REPO, BrowserClient, Service, free_port, wait_until


def test_make_serve_links_to_its_own_port_and_stops_on_sigterm_to_its_group(stack):
    """The email's links use SITE_URL, which follows PORT; systemd-style SIGTERM to the whole
    group stops web and worker within 10 seconds."""
    port = free_port()
    env = {key: value for key, value in stack.env().items() if key != "SITE_URL"}
    stack.worker.stop()  # this worker alone takes the queue, so the mail comes from `make serve`
    log = stack.workdir / "logs" / "make-serve.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [
                shutil.which("make") or "/usr/bin/make",
                "--no-print-directory",
                "serve",
                f"PORT={port}",
                "HOST=127.0.0.1",
            ],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    serve = Service(name="make-serve", process=process, log=log, port=port)
    try:
        wait_until(lambda: _answers(f"http://127.0.0.1:{port}/healthz"), timeout=90, what="make serve", service=serve)
        assert f"Starting Medbook on http://127.0.0.1:{port}/" in serve.output()
        before = len(stack.smtp.messages())
        client = BrowserClient(base_url=f"http://127.0.0.1:{port}", timeout=30)
        client.get("/_allauth/browser/v1/config")
        login = client.post(
            "/_allauth/browser/v1/auth/login", json={"email": "patient2@example.com", "password": "medbook-demo-2026"}
        )
        assert login.status_code == 200, login.text[:300]
        with client:
            appointment = book_first_free_slot(client)
        mails = stack.smtp.wait_for(lambda found: len(found) > before and _mentions(found[before:], appointment["id"]))
        (mail,) = [m for m in mails[before:] if appointment["id"] in m.text()][:1]
        links = set(re.findall(r"https?://[^\s/\"<>]+", mail.text()))
        assert links == {f"http://127.0.0.1:{port}"}, links

        started = time.monotonic()
        serve.signal_group(signal.SIGTERM)
        wait_until(lambda: not serve.group_alive(), timeout=10, what="make serve's group to exit after SIGTERM")
        took = time.monotonic() - started
        assert took < 10
        assert "The worker has stopped" in serve.output()
    finally:
        if serve.group_alive():
            serve.kill()
        stack.start_worker()
        stack.wait_healthy(timeout=90)


def _mentions(mails, public_id: str) -> bool:
    return any(public_id in mail.text() for mail in mails)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code in (200, 503)
    except httpx.HTTPError:
        return False


def test_backup_and_restore_bring_back_the_database_the_media_and_the_visit_documents(stack, tmp_path):
    media = stack.workdir / "media"
    (media / "doctors").mkdir(parents=True, exist_ok=True)
    (media / "doctors" / "before.jpg").write_bytes(b"photo taken before the backup")
    documents = stack.workdir / "var" / "clinical-documents"  # CLINICAL_DOCUMENTS_DIR, outside the media
    documents.mkdir(parents=True, exist_ok=True)
    (documents / "lab-result.bin").write_bytes(b"an encrypted lab result")
    counted = stack.sql("SELECT count(*) FROM booking_appointment")[0][0]

    folder = stack.manage("backup", str(tmp_path)).strip()
    assert os.path.exists(os.path.join(folder, "database.dump"))

    with stack.session("patient2@example.com") as patient:
        later = book_first_free_slot(patient)  # written after the backup
    (media / "doctors" / "before.jpg").unlink()
    (media / "doctors" / "after.jpg").write_bytes(b"added after the backup")
    (documents / "lab-result.bin").unlink()
    assert stack.sql("SELECT count(*) FROM booking_appointment")[0][0] == counted + 1

    # README "Deploying": stop web and worker, restore, start them again
    stack.worker.stop()
    stack.web.stop()
    out = stack.manage("restore", folder, "--noinput", timeout=300)
    assert "restored the backup" in out
    stack.start_web()
    stack.start_worker()
    stack.wait_healthy(timeout=90)

    assert stack.sql("SELECT count(*) FROM booking_appointment")[0][0] == counted
    assert stack.sql("SELECT count(*) FROM booking_appointment WHERE public_id::text = %s", later["id"]) == [(0,)]
    assert sorted(p.name for p in (media / "doctors").iterdir()) == ["before.jpg"]
    assert (documents / "lab-result.bin").read_bytes() == b"an encrypted lab result"
    with stack.client() as client:
        assert client.get("/api/v1/doctors").status_code == 200
