"""User management shared by ``oki-monitor users`` and the admin page."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.kernel.config import AppConfig
from monitor.kernel.regions import national_names
from monitor.store.models import User
from monitor.web.auth import ROLES, hash_password, hash_token, new_api_token, validate_password

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,49}$")
REGION_RE = re.compile(r"^\d{2}\.\d{2}$")
ALL_REGIONS = ("", "semua")
"""What a form or the CLI gives for "every region" (stored as NULL)."""


def add_user(
    session: Session,
    config: AppConfig,
    username: str,
    password: str,
    role: str,
    agency: str | None,
    now: datetime,
    region: str | None = None,
) -> User:
    """Create a user (of one region, or of every region when ``region`` is None); :class:`ValueError`
    (Indonesian message) when a value is unacceptable."""
    name = username.strip().lower()
    if not USERNAME_RE.match(name):
        raise ValueError("nama pengguna 2-50 karakter: huruf kecil, angka, titik, garis bawah atau strip")
    region = check_region(config, region)
    agency = check_role(config, role, agency, region)
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
        region_code=region,
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


def check_role(config: AppConfig, role: str, agency: str | None, region: str | None = None) -> str | None:
    """The agency code to store for ``role`` (an agency of ``region``: the deployment's own region when None);
    :class:`ValueError` (Indonesian message) when the pair is invalid."""
    if role not in ROLES:
        raise ValueError(f"peran {role[:20]!r} tidak dikenal; pilih salah satu: {', '.join(ROLES)}")
    if role == "agency":
        if not agency or config.agency(agency, region) is None:
            raise AgencyChoiceError("peran OPD perlu satu OPD; pilih OPD-nya", needed=True)
        return agency
    if agency:
        raise AgencyChoiceError("hanya peran OPD yang terikat ke satu OPD; kosongkan pilihan OPD", needed=False)
    return None


def check_region(config: AppConfig, region: str | None) -> str | None:
    """The region code to store (None: every region); :class:`ValueError` (Indonesian message) for a code that is
    no kabupaten/kota. The config's own region is always known; others are checked against the national list
    when it is there."""
    code = (region or "").strip()
    if code.lower() in ALL_REGIONS:
        return None
    known = national_names()
    ours = code in config.deployment_regions()
    if not REGION_RE.match(code) or (not ours and known and code not in known):
        raise ValueError(
            f"wilayah {code[:20]!r} bukan kode kabupaten/kota Kemendagri (contoh: 16.01); kosongkan untuk semua wilayah"
        )
    return code


def change_region(config: AppConfig, user: User, region: str | None) -> str | None:
    """Put ``user`` in one region (None: every region); returns the old one. Caller ends the user's sessions."""
    code = check_region(config, region)
    old = user.region_code
    user.region_code = code
    return old


def change_role(config: AppConfig, user: User, role: str, agency: str | None) -> tuple[str, str | None]:
    """Give ``user`` a new role (and agency); returns the old (role, agency). Caller ends the user's sessions."""
    code = check_role(config, role, agency, user.region_code)
    old = (user.role, user.agency_code)
    user.role, user.agency_code = role, code
    return old


def set_password(user: User, password: str) -> None:
    """Store a new password hash; :class:`ValueError` when the password is unacceptable."""
    problem = validate_password(password)
    if problem:
        raise ValueError(problem)
    user.password_hash = hash_password(password)
