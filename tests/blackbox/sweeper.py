"""The hold-expiry sweep on demand, as the worker runs it: one line on stdin, one sweep.

Started by the fault suite with the stack's environment, so that a race can fire the sweep at the
same moment as a booking and a webhook (the worker's own schedule fires only once a minute).
Prints ``ready`` once, then ``ok <expired>`` or ``error <exception>`` per line read.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "platform"), str(REPO)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from workflows.tasks import expire_lapsed_holds  # noqa: E402

print("ready", flush=True)
for _line in sys.stdin:
    try:
        print(f"ok {expire_lapsed_holds()}", flush=True)
    except Exception as exc:  # reported to the test, which judges it
        print(f"error {type(exc).__name__}: {exc}".replace("\n", " "), flush=True)
