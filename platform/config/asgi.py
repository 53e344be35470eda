"""ASGI entry point: ``uvicorn --app-dir platform config.asgi:application`` from the repository root."""

import os
import sys
from pathlib import Path

_root = Path(__file__).resolve().parent.parent.parent
for _entry in (str(_root / "platform"), str(_root)):
    if _entry not in sys.path:
        sys.path.insert(0, _entry)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

application = get_asgi_application()
