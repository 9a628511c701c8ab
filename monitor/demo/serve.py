"""`oki-monitor demo --serve`: keep the dashboard running on the demo's data so a newcomer can look around."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from argon2 import PasswordHasher
from sqlalchemy import select

from monitor.demo.runner import DemoResult
from monitor.kernel.clock import SimulatedClock
from monitor.store.models import User

DEMO_USERS = [
    ("komunikasi", "comms", None),
    ("pupr", "agency", "pupr"),
    ("analis", "analyst", None),
    ("admin", "admin", None),
]


def ensure_demo_users(result: DemoResult) -> dict[str, str]:
    """One user per role with a fresh random password (printed once, never stored in clear)."""
    hasher = PasswordHasher()
    passwords: dict[str, str] = {}
    now = datetime.now(UTC)
    with result.db.session() as session:
        for username, role, agency in DEMO_USERS:
            password = secrets.token_urlsafe(9)
            user = session.scalar(select(User).where(User.username == username))
            if user is None:
                user = User(username=username, role=role, agency_code=agency, created_at=now, password_hash="")
                session.add(user)
            user.password_hash = hasher.hash(password)
            passwords[username] = password
    return passwords


def serve_demo(result: DemoResult, port: int) -> None:
    """Serve the dashboard on 127.0.0.1:port over the demo database until interrupted."""
    import uvicorn

    from monitor.web.app import create_app

    passwords = ensure_demo_users(result)
    print(f"\nDasbor demo: http://127.0.0.1:{port}/  (hentikan dengan Ctrl+C)")
    for username, role, agency in DEMO_USERS:
        scope = f" ({agency})" if agency else ""
        print(f"  masuk sebagai {username:<11} peran {role}{scope}: kata sandi {passwords[username]}")
    # The dashboard's "now" is the end of the scenario, so sparklines and "rising" read as they did then.
    app = create_app(result.config, result.db, SimulatedClock(result.end), freeze_gc=True)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
