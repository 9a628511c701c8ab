"""User management shared by ``oki-monitor users`` and the admin page."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.kernel.config import AppConfig
from monitor.store.models import User
from monitor.web.auth import ROLES, hash_password, hash_token, new_api_token, validate_password

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,49}$")


def add_user(
    session: Session, config: AppConfig, username: str, password: str, role: str, agency: str | None, now: datetime
) -> User:
    """Create a user; :class:`ValueError` (Indonesian message) when a value is unacceptable."""
    name = username.strip().lower()
    if not USERNAME_RE.match(name):
        raise ValueError("nama pengguna 2-50 karakter: huruf kecil, angka, titik, garis bawah atau strip")
    agency = check_role(config, role, agency)
    problem = validate_password(password)
    if problem:
        raise ValueError(problem)
    if session.scalar(select(User.id).where(User.username == name)) is not None:
        raise ValueError(f"nama pengguna {name!r} sudah dipakai")
    user = User(
        username=name,
        password_hash=hash_password(password),
        role=role,
        agency_code=agency,
        active=True,
        created_at=now,
    )
    session.add(user)
    return user


def issue_token(session: Session, username: str) -> str:
    """Give the user a new personal API token (replacing any old one) and return it; only its hash is stored."""
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise ValueError(f"pengguna {username[:50]!r} tidak ada; buat dulu dengan: oki-monitor users add")
    return give_token(user)


def give_token(user: User) -> str:
    """A new personal API token for ``user`` (the old one stops working); only its hash is kept."""
    token = new_api_token()
    user.api_token_hash = hash_token(token)
    return token


class AgencyChoiceError(ValueError):
    """The role and agency do not fit together; ``needed`` says whether an agency was missing or extra.

    The message names no command-line flag: the admin page shows it as it is, and the CLI adds its flag.
    """

    def __init__(self, message: str, *, needed: bool) -> None:
        super().__init__(message)
        self.needed = needed


def check_role(config: AppConfig, role: str, agency: str | None) -> str | None:
    """The agency code to store for ``role``; :class:`ValueError` (Indonesian message) when the pair is invalid."""
    if role not in ROLES:
        raise ValueError(f"peran {role[:20]!r} tidak dikenal; pilih salah satu: {', '.join(ROLES)}")
    if role == "agency":
        if not agency or config.agency(agency) is None:
            raise AgencyChoiceError("peran OPD perlu satu OPD; pilih OPD-nya", needed=True)
        return agency
    if agency:
        raise AgencyChoiceError("hanya peran OPD yang terikat ke satu OPD; kosongkan pilihan OPD", needed=False)
    return None


def change_role(config: AppConfig, user: User, role: str, agency: str | None) -> tuple[str, str | None]:
    """Give ``user`` a new role (and agency); returns the old (role, agency). Caller ends the user's sessions."""
    code = check_role(config, role, agency)
    old = (user.role, user.agency_code)
    user.role, user.agency_code = role, code
    return old


def set_password(user: User, password: str) -> None:
    """Store a new password hash; :class:`ValueError` when the password is unacceptable."""
    problem = validate_password(password)
    if problem:
        raise ValueError(problem)
    user.password_hash = hash_password(password)
