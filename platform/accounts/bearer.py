"""A bearer token (allauth headless JWT) checked in one query: the API's hot path.

allauth's stateful check of an access token reads the token's session, then its user (Django's
``get_user``), and the MFA guard then asks whether the user has an authenticator: three queries
on every API call, plus, when booking, a fourth for the patient's profile. ``bearer_user`` does the
same checks with one query (the user with its session's data, the MFA flag and the profile's contact
fields), and only ever *accepts*: whenever it cannot say yes for sure (an unknown session engine or
backend, a session hash that only a fallback secret verifies, anything unusual), it answers None and
the caller asks allauth, whose answer is the one that counts. So it accepts a subset of what allauth
accepts: the signature and expiry (allauth's own ``decode_token``), the session (by the key sealed in
the token, unexpired), its user being the token's subject, active, signed in through a configured
``ModelBackend``, with the session's auth hash verified by the current secret, and no second factor
unless the session passed it.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from importlib import import_module
from types import SimpleNamespace

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, load_backend
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from accounts.models import PatientProfile, User
from core.prepared import PreparedQuery

#: the one session engine whose rows the query reads (the default)
DB_SESSIONS = "django.contrib.sessions.backends.db"
#: the patient profile's fields the booking reads (its contact details); the rest stay deferred
PROFILE_FIELDS = ("id", "phone", "national_id")


@dataclass(frozen=True)
class BearerIdentity:
    user: User
    session: dict  # the token's session data (decoded)


@functools.cache
def _user_fields() -> tuple[str, ...]:
    return tuple(field.attname for field in User._meta.concrete_fields)


def _identity_queryset(user_id, session_key, now):
    from allauth.mfa.models import Authenticator

    session_model = import_module(DB_SESSIONS).SessionStore.get_model_class()
    session = session_model.objects.filter(session_key=session_key, expire_date__gt=now).values("session_data")[:1]
    return (
        User._default_manager.filter(pk=user_id)
        .order_by()
        .annotate(
            token_session_data=Subquery(session),
            token_mfa=Exists(Authenticator.objects.filter(user_id=OuterRef("pk"))),
        )
        .values_list(
            *_user_fields(),
            *(f"patient_profile__{name}" for name in PROFILE_FIELDS),
            "token_session_data",
            "token_mfa",
        )
    )


_IDENTITY = PreparedQuery(_identity_queryset, ints=("user_id",), strs=("session_key",), datetimes=("now",))


@functools.cache
def _plain_model_backend(path: str) -> bool:
    """Whether the backend at ``path`` loads users exactly as ``ModelBackend`` does (by primary key,
    active ones only): the query above does the same."""
    backend = type(load_backend(path))
    return (
        issubclass(backend, ModelBackend)
        and backend.get_user is ModelBackend.get_user
        and backend.user_can_authenticate is ModelBackend.user_can_authenticate
    )


def _default_mfa_adapter() -> bool:
    from allauth.mfa.adapter import DefaultMFAAdapter, get_adapter

    return type(get_adapter()).is_mfa_enabled is DefaultMFAAdapter.is_mfa_enabled


def _passed_mfa(session: dict, user: User) -> bool:
    from allauth.account.authentication import get_authentication_records

    records = get_authentication_records(SimpleNamespace(session=session), user)
    return any(record.get("method") == "mfa" for record in records)


#: access tokens whose signature was verified, with their claims and the session key their ``sid``
#: encrypts: a token is sent with every call of an app for up to five minutes, and checking its RSA
#: signature (and PyJWT's checks of its encoding, and decrypting the key) costs more than the rest of
#: this check. The exact token string is the key, its expiry is checked again on every use, and the
#: session behind it is still read every time (that is what ends a token).
_VERIFIED: dict[str, tuple[tuple, dict, str | None]] = {}
_VERIFIED_MAX = 4096


def _access_claims(token: str) -> tuple[dict, str | None] | None:
    """allauth's ``decode_token(token, "access")`` and ``session_key_from_sid`` of its ``sid``,
    remembered per process for the token's lifetime (and the keys that verified and decrypted it)."""
    from allauth.headless import app_settings as headless_settings
    from allauth.headless.tokens.strategies.jwt.internal import decode_token, session_key_from_sid

    config = (headless_settings.JWT_ALGORITHM, headless_settings.JWT_PRIVATE_KEY, settings.SECRET_KEY)
    known = _VERIFIED.get(token)
    if known is not None and known[0] == config and known[1]["exp"] > time.time():
        return known[1], known[2]
    payload = decode_token(token, "access")  # signature, expiry, token use, the claims' types
    if payload is None:
        return None
    session_key = session_key_from_sid(payload["sid"])
    if isinstance(payload.get("exp"), int):
        if len(_VERIFIED) >= _VERIFIED_MAX:
            _VERIFIED.clear()
        _VERIFIED[token] = (config, payload, session_key)
    return payload, session_key


#: decoded session data by its stored text (signed: decoding checks the signature): the same session
#: row is read for every call made with its tokens, and is re-signed as a new text when it changes
_DECODED: dict[str, tuple[str, dict]] = {}
_DECODED_MAX = 4096


def _decoded_session(store, session_data: str) -> dict:
    known = _DECODED.get(session_data)
    if known is not None and known[0] == settings.SECRET_KEY:
        return dict(known[1])
    session = store.decode(session_data)
    if session:  # an empty dict is also what a bad signature decodes to: not remembered
        if len(_DECODED) >= _DECODED_MAX:
            _DECODED.clear()
        _DECODED[session_data] = (settings.SECRET_KEY, dict(session))
    return session


def bearer_user(header: str) -> BearerIdentity | None:
    """The user of ``Authorization: Bearer <access token>`` when the token is certainly good; None
    when it is not, or not certainly (ask allauth then). The user comes with ``patient_profile``
    loaded (its contact fields; None when there is none)."""
    from allauth.account.internal.userkit import user_id_to_str
    from allauth.headless import app_settings as headless_settings

    parts = header.split()
    if len(parts) != 2 or parts[0].lower() != headless_settings.JWT_AUTHORIZATION_HEADER_SCHEME.lower():
        return None
    if settings.SESSION_ENGINE != DB_SESSIONS or not headless_settings.JWT_STATEFUL_VALIDATION_ENABLED:
        return None
    verified = _access_claims(parts[1])
    if verified is None:
        return None
    payload, session_key = verified
    store = import_module(DB_SESSIONS).SessionStore(session_key=session_key)
    if not store.session_key:  # not a well-formed key
        return None
    try:
        user_id = User._meta.pk.to_python(payload["sub"])
    except ValidationError:
        return None
    rows = _IDENTITY.rows(user_id=user_id, session_key=store.session_key, now=timezone.now())
    if not rows:
        return None
    *user_values, profile_id, phone, national_id, session_data, has_mfa = rows[0]
    if session_data is None:  # no such session, or it expired
        return None
    session = _decoded_session(store, session_data)
    backend_path = session.get(BACKEND_SESSION_KEY)
    session_hash = session.get(HASH_SESSION_KEY)
    if (
        str(session.get(SESSION_KEY)) != str(user_id)
        or backend_path not in settings.AUTHENTICATION_BACKENDS
        or not _plain_model_backend(backend_path)
        or not session_hash
    ):
        return None
    user = User.from_db(_IDENTITY.using, _user_fields(), user_values)
    if not user.is_active or user_id_to_str(user) != payload["sub"]:
        return None
    if not constant_time_compare(session_hash, user.get_session_auth_hash()):
        return None  # a fallback secret may still verify it (and rotate the session): allauth decides
    if has_mfa and (not _default_mfa_adapter() or not _passed_mfa(session, user)):
        return None
    if profile_id is None:
        user._state.fields_cache["patient_profile"] = None
    else:
        loaded = {"id": profile_id, "user_id": user.pk, "phone": phone, "national_id": national_id}
        names = [field.attname for field in PatientProfile._meta.concrete_fields if field.attname in loaded]
        # from_db takes the loaded values in the model's field order
        profile = PatientProfile.from_db(_IDENTITY.using, names, [loaded[name] for name in names])
        profile._state.fields_cache["user"] = user
        user._state.fields_cache["patient_profile"] = profile
    return BearerIdentity(user=user, session=session)
