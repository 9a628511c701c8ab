"""`oki-monitor users add|list|token`: dashboard users and analysts' API tokens."""

from __future__ import annotations

import argparse
import getpass
import sys

from sqlalchemy import select

from monitor.kernel.clock import format_wib
from monitor.kernel.regions import DEFAULT_REGION, region_label, region_names, region_names_of, seen_region
from monitor.store.context import Context

NAME = "users"
HELP = "manage dashboard users: add, list, and issue personal API tokens"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="create a user (asks for the password, or reads it with --password-stdin)")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=["admin", "comms", "agency", "analyst"])
    add.add_argument("--agency", help="agency code from config (required for --role agency)")
    add.add_argument(
        "--region",
        help="kode kabupaten/kota Kemendagri yang dilihat pengguna (mis. 16.01); tanpa ini: semua wilayah "
        "(pengguna OPD: wilayah config)",
    )
    add.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    listing = sub.add_parser("list", help="show users, roles, agencies and regions")
    listing.add_argument(
        "--region",
        help="hanya pengguna wilayah ini (kode Kemendagri, mis. 16.01); pengguna semua wilayah tidak ikut",
    )
    token = sub.add_parser("token", help="issue a new personal API token (replaces the old one); printed once")
    token.add_argument("username")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Kata sandi: ")
    if getpass.getpass("Ulangi kata sandi: ") != first:
        raise ValueError("kedua kata sandi tidak sama")
    return first


def _region_of(args: argparse.Namespace, ctx: Context) -> str | None:
    """The region given with --region; an agency user given none is of the config's region (an agency is
    one regency's), everyone else of every region."""
    if args.region is not None:
        return str(args.region)
    if args.role == "agency" and ctx.config.region_code != DEFAULT_REGION:
        return ctx.config.region_code
    return None


def run(args: argparse.Namespace, ctx: Context) -> int:
    from monitor.store.models import User  # not at the top: every `oki-monitor` start imports this module
    from monitor.web.users import AgencyChoiceError, add_user, issue_token

    db = ctx.checked_database()
    if args.users_command == "list":
        from monitor.web.users import check_region

        try:
            only = check_region(ctx.config, args.region) if args.region else None
        except ValueError as exc:
            print(f"--region: {exc}", file=sys.stderr)
            return 2
        with db.session() as session:
            users = list(session.scalars(select(User).order_by(User.username)))
            if only is not None:
                users = [u for u in users if seen_region(u.role, u.region_code) == only]
            names = region_names({u.region_code for u in users if u.region_code}, region_names_of(ctx.config))
            if not users:
                if only is not None:
                    print(f"Tidak ada pengguna wilayah {region_label(only, region_names_of(ctx.config))}.")
                else:
                    print("Belum ada pengguna. Tambah dengan: oki-monitor users add NAMA --role admin")
            for u in users:
                agency = f" ({u.agency_code})" if u.agency_code else ""
                state = "aktif" if u.active else "nonaktif"
                token = " token-api" if u.api_token_hash else ""
                last = format_wib(u.last_login_at)
                # A user of every region (NULL, as every user before regions) shows as before.
                where = f"  wilayah {names[u.region_code]}" if u.region_code else ""
                print(f"{u.username:<20} {u.role}{agency:<16} {state}{token}  masuk terakhir {last}{where}")
        return 0
    try:
        if args.users_command == "add":
            password = _read_password(args.password_stdin)
            with db.session() as session:
                user = add_user(
                    session,
                    ctx.config,
                    args.username,
                    password,
                    args.role,
                    args.agency,
                    ctx.clock.now(),
                    region=_region_of(args, ctx),
                )
                where = f", wilayah {region_label(user.region_code, region_names_of(ctx.config))}"
            print(f"Pengguna {args.username.strip().lower()} ({args.role}{where if args.region else ''}) dibuat.")
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
