#!/usr/bin/env python
"""Django's command-line utility for Medbook.

``platform/`` is a source root, not a package: ``config``, ``accounts`` and ``core`` are imported
from it, while ``import platform`` keeps meaning the standard-library module.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def main() -> None:
    sys.path.insert(0, str(ROOT / "platform"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if "SECRET_KEY" not in os.environ:
        # A checkout without a SECRET_KEY is a developer's: run commands with the development defaults.
        # Production always sets SECRET_KEY, so DEBUG stays off there unless it is asked for.
        os.environ.setdefault("DEBUG", "1")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
