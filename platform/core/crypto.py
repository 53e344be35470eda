"""Field-level encryption at rest for clinical text (Fernet: AES-128-CBC with an HMAC-SHA256 tag).

Keys come from ``settings.FIELD_ENCRYPTION_KEYS`` (the ``FIELD_ENCRYPTION_KEYS`` environment variable,
comma-separated Fernet keys). New values are encrypted with the first key; a value is read with whichever
key opens it (``MultiFernet``), so keys rotate: put the new key first, keep the old ones behind it, run
``manage.py reencrypt`` to rewrite every encrypted column with the new key, then drop the old ones.

An encrypted column holds a Fernet token (``gAAAAA…``, URL-safe base64): the database, its backups and
anyone reading them see no clinical text. The price: such a column cannot be searched or sorted in SQL;
searches stay on the plain columns (patient name, date, doctor).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

TOKEN_PREFIX = "gAAAAA"  # noqa: S105 (not a secret) every Fernet token starts with its version byte 0x80 and a timestamp


class DecryptionError(Exception):
    """A stored value could not be opened with any configured key (a key was removed too early)."""


def key_from_secret(secret: str) -> str:
    """A Fernet key derived from ``SECRET_KEY``: for development and tests only (settings refuse it
    when DEBUG is off), so a laptop works without configuring a key."""
    digest = hashlib.sha256(b"medbook field encryption\x00" + secret.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


def validate_keys(keys: list[str], *, name: str = "FIELD_ENCRYPTION_KEYS") -> list[str]:
    """Fail loudly at start-up on a malformed key rather than at the first write."""
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except (ValueError, TypeError):
            raise ImproperlyConfigured(
                f"{name}: key {position} is not a Fernet key (32 url-safe base64-encoded bytes; "
                'create one with: python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())")'
            ) from None
    return keys


@lru_cache(maxsize=8)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty")
    return MultiFernet([Fernet(key.encode()) for key in keys])


def _current() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(text: str) -> str:
    """``text`` as a token under the newest key. The empty string stays empty (it says nothing)."""
    if text == "":
        return ""
    return _current().encrypt(text.encode()).decode()


def decrypt(token: str) -> str:
    if token == "":
        return ""
    try:
        return _current().decrypt(token.encode()).decode()
    except InvalidToken:
        raise DecryptionError(
            "A stored value cannot be decrypted with any key in FIELD_ENCRYPTION_KEYS "
            "(was a key removed before `manage.py reencrypt` ran?)"
        ) from None


def is_token(value: str) -> bool:
    """True when ``value`` opens with one of the configured keys."""
    if not value.startswith(TOKEN_PREFIX):
        return False
    try:
        _current().decrypt(value.encode())
    except InvalidToken:
        return False
    return True


class EncryptedTextField(models.TextField):
    """A text column stored encrypted (see the module docstring). Python code sees plain ``str``; the
    database sees a token. Lookups other than ``isnull`` and comparisons with ``""`` are meaningless on
    it: each encryption of the same text gives a different token."""

    description = "Text encrypted at rest"

    def from_db_value(self, value, expression, connection):
        if value is None:
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None:
            return value
        return encrypt(str(value))


def encrypted_fields() -> Iterator[tuple[type[models.Model], list[str]]]:
    """Every concrete model with encrypted columns, and their names (for ``reencrypt``)."""
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        names = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if names:
            yield model, names


def max_token_length(plain_bytes: int) -> int:
    """The longest token for a value of up to ``plain_bytes`` bytes (UTF-8): a database check on an
    encrypted column's length uses this bound."""
    padded = (plain_bytes // 16 + 1) * 16  # PKCS7 always pads
    raw = 1 + 8 + 16 + padded + 32  # version, timestamp, IV, ciphertext, HMAC
    return 4 * -(-raw // 3)


# --- data migrations: encrypt the plain text already in a column, or decrypt it back --------------


def _rewrite_columns(schema_editor, table: str, columns: list[str], change) -> None:
    connection = schema_editor.connection
    quote = connection.ops.quote_name
    names = ", ".join(quote(c) for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, {names} FROM {quote(table)}")  # noqa: S608 (names from the model)
        rows = cursor.fetchall()
        for pk, *values in rows:
            new = [change(value) if value else value for value in values]
            if new != values:
                assignments = ", ".join(f"{quote(c)} = %s" for c in columns)
                cursor.execute(f"UPDATE {quote(table)} SET {assignments} WHERE id = %s", [*new, pk])  # noqa: S608


def encrypt_plain_columns(table: str, columns: list[str]):
    """A ``RunPython`` function that encrypts every value of ``columns`` not yet encrypted (run it after
    the ``AlterField`` to ``EncryptedTextField``; running it twice changes nothing)."""

    def forwards(apps, schema_editor):
        _rewrite_columns(schema_editor, table, columns, lambda v: v if is_token(v) else encrypt(v))

    return forwards


def decrypt_columns(table: str, columns: list[str]):
    """The reverse of ``encrypt_plain_columns``: plain text again (for ``migrate`` backwards)."""

    def backwards(apps, schema_editor):
        _rewrite_columns(schema_editor, table, columns, lambda v: decrypt(v) if is_token(v) else v)

    return backwards


def encrypt_bytes(data: bytes) -> bytes:
    """A file's content as a token under the newest key (documents are stored like text columns)."""
    return _current().encrypt(data)


def decrypt_bytes(token: bytes) -> bytes:
    try:
        return _current().decrypt(token)
    except InvalidToken:
        raise DecryptionError("A stored file cannot be decrypted with any key in FIELD_ENCRYPTION_KEYS") from None


def rotate_bytes(token: bytes) -> bytes:
    """``token`` re-encrypted under the newest key (any configured key may open it)."""
    try:
        return _current().rotate(token)
    except InvalidToken:
        raise DecryptionError("A stored file cannot be decrypted with any key in FIELD_ENCRYPTION_KEYS") from None


#: encrypted data outside the database columns (files) register a rewrite here: a callable returning a
#: label and a count, run by ``manage.py reencrypt`` after the columns (layers above core register at start-up)
EXTRA_REENCRYPTORS: list = []
