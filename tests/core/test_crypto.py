"""Field-level encryption: tokens under the newest key, reads with any configured key."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from core.crypto import DecryptionError, decrypt, encrypt, is_token, key_from_secret, validate_keys

OLD = Fernet.generate_key().decode()
NEW = Fernet.generate_key().decode()


def test_a_value_is_stored_as_a_token_that_does_not_contain_the_text(settings):
    settings.FIELD_ENCRYPTION_KEYS = [NEW]
    token = encrypt("penicillin allergy")
    assert "penicillin" not in token
    assert token.startswith("gAAAAA")
    assert decrypt(token) == "penicillin allergy"
    assert encrypt("penicillin allergy") != token  # no equal tokens for equal texts


def test_reads_try_every_key_and_writes_use_the_first(settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    old_token = encrypt("asthma")
    settings.FIELD_ENCRYPTION_KEYS = [NEW, OLD]
    assert decrypt(old_token) == "asthma"
    new_token = encrypt("asthma")
    settings.FIELD_ENCRYPTION_KEYS = [NEW]
    assert decrypt(new_token) == "asthma"
    with pytest.raises(DecryptionError, match="reencrypt"):
        decrypt(old_token)


def test_the_empty_string_stays_empty_and_plain_text_is_not_a_token(settings):
    settings.FIELD_ENCRYPTION_KEYS = [NEW]
    assert encrypt("") == ""
    assert decrypt("") == ""
    assert not is_token("asthma")
    assert is_token(encrypt("asthma"))


def test_the_development_key_is_derived_from_the_secret_and_malformed_keys_are_refused():
    assert key_from_secret("a") == key_from_secret("a") != key_from_secret("b")
    validate_keys([key_from_secret("a")])
    with pytest.raises(ImproperlyConfigured, match="key 2 is not a Fernet key"):
        validate_keys([NEW, "short"])
