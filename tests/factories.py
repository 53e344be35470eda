from __future__ import annotations

from accounts.services import user_create

PASSWORD = "correct-horse-battery-9"


def make_user(email: str, role: str, *, password: str = PASSWORD, first_name: str = "", last_name: str = "Test"):
    """A user created the way the clinic creates them (verified email, role groups, patient profile)."""
    return user_create(email=email, role=role, password=password, first_name=first_name, last_name=last_name)
