"""`oki-monitor users add|list|token`: dashboard users and analysts' API tokens."""

from __future__ import annotations

import argparse
import getpass
import sys

from sqlalchemy import select

from monitor.kernel.clock import format_wib
from monitor.store.context import Context
from monitor.store.models import User

NAME = "users"
HELP = "manage dashboard users: add, list, and issue personal API tokens"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="create a user (asks for the password, or reads it with --password-stdin)")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=["admin", "comms", "agency", "analyst"])
    add.add_argument("--agency", help="agency code from config (required for --role agency)")
    add.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    sub.add_parser("list", help="show users, roles and agencies")
    token = sub.add_parser("token", help="issue a new personal API token (replaces the old one); printed once")
    token.add_argument("username")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Kata sandi: ")
    if getpass.getpass("Ulangi kata sandi: ") != first:
        raise ValueError("kedua kata sandi tidak sama")
    return first


def run(args: argparse.Namespace, ctx: Context) -> int:
    from monitor.web.users import AgencyChoiceError, add_user, issue_token

    db = ctx.checked_database()
    if args.users_command == "list":
        with db.session() as session:
            users = list(session.scalars(select(User).order_by(User.username)))
            if not users:
                print("Belum ada pengguna. Tambah dengan: oki-monitor users add NAMA --role admin")
            for u in users:
                agency = f" ({u.agency_code})" if u.agency_code else ""
                state = "aktif" if u.active else "nonaktif"
                token = " token-api" if u.api_token_hash else ""
                last = format_wib(u.last_login_at)
                print(f"{u.username:<20} {u.role}{agency:<16} {state}{token}  masuk terakhir {last}")
        return 0
    try:
        if args.users_command == "add":
            password = _read_password(args.password_stdin)
            with db.session() as session:
                add_user(session, ctx.config, args.username, password, args.role, args.agency, ctx.clock.now())
            print(f"Pengguna {args.username.strip().lower()} ({args.role}) dibuat.")
            return 0
        with db.session() as session:
            token = issue_token(session, args.username)
        print("Token API baru (simpan sekarang; tidak akan ditampilkan lagi):")
        print(token)
        return 0
    except AgencyChoiceError as exc:
        if exc.needed:
            known = ", ".join(a.code for a in ctx.config.agencies)
            print(f"Gagal: {exc} dengan --agency KODE ({known})", file=sys.stderr)
        else:
            print(f"Gagal: {exc} (tanpa --agency)", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"Gagal: {exc}", file=sys.stderr)
        return 2
