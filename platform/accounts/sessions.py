"""Sessions end when the account's security changes.

Turning on a second factor, changing, setting or resetting the password end the user's OTHER sessions
(browser sessions and the app tokens that hang off them); the session that made the change stays.
allauth announces these changes through its signals, the documented extension point; the receivers
only call the service.
"""

from __future__ import annotations

from allauth.account.internal.flows.login import record_authentication


def _current_key(request) -> str | None:
    session = getattr(request, "session", None)
    return getattr(session, "session_key", None) if session is not None else None


def end_other_sessions_on_password_change(sender, request, user, **kwargs) -> None:
    from accounts.services import user_sessions_end

    user_sessions_end(user=user, keep_session_key=_current_key(request), reason="password")


def end_other_sessions_on_mfa_added(sender, request, user, authenticator=None, **kwargs) -> None:
    from accounts.services import user_sessions_end

    if getattr(authenticator, "type", None) == "recovery_codes":
        return  # generated together with TOTP: one ending is enough
    user_sessions_end(user=user, keep_session_key=_current_key(request), reason="mfa_enabled")
    if getattr(request, "user", None) is not None and request.user.pk == user.pk:
        # The code that switched the factor on was just typed in this session: it counts as passing it,
        # so the person is not asked again at once.
        record_authentication(request, user, "mfa", type=getattr(authenticator, "type", "totp"), reason="activated")


def connect() -> None:
    from allauth.account.signals import password_changed, password_reset, password_set
    from allauth.mfa.signals import authenticator_added

    for name, signal in (("changed", password_changed), ("set", password_set), ("reset", password_reset)):
        signal.connect(end_other_sessions_on_password_change, dispatch_uid=f"medbook-end-sessions-password-{name}")
    authenticator_added.connect(end_other_sessions_on_mfa_added, dispatch_uid="medbook-end-sessions-mfa")
