"""The Vietnamese catalogue stays valid while branches append to it (no duplicate or broken entries)."""

from collections import Counter
from pathlib import Path

import polib
from django.conf import settings


def test_the_vietnamese_catalogue_has_no_duplicate_entries():
    path = Path(settings.BASE_DIR) / "themes" / "locale" / "vi" / "LC_MESSAGES" / "django.po"
    catalogue = polib.pofile(str(path))
    counts = Counter((entry.msgctxt, entry.msgid) for entry in catalogue if not entry.obsolete)
    assert [msgid for msgid, count in counts.items() if count > 1] == []


def test_every_vietnamese_entry_keeps_the_placeholders_of_its_english_text():
    import re

    path = Path(settings.BASE_DIR) / "themes" / "locale" / "vi" / "LC_MESSAGES" / "django.po"
    placeholder = re.compile(r"%\([a-z_]+\)[sd]")
    wrong = [
        entry.msgid
        for entry in polib.pofile(str(path))
        if entry.msgstr and sorted(placeholder.findall(entry.msgid)) != sorted(placeholder.findall(entry.msgstr))
    ]
    assert wrong == []
