"""`yiqiban staff add|list`: staff accounts for the console at /staff (the first admin, too).

The password is read from the terminal (twice, not echoed) or, for scripts, from standard input
with `--password-stdin`; it never appears on the command line, where `ps` and shell history
would keep it.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from datetime import datetime
from typing import Any, TextIO

from bot.cli_tickets import CST, db_path


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("密码：")
    if first != getpass.getpass("再输入一次："):
        raise ValueError("两次输入的密码不一致")
    return first


def cmd_add(args: argparse.Namespace, out: TextIO) -> int:
    from bot.staff.accounts import ROLE_LABELS, Role
    from bot.staff.store import StaffStore
    from bot.store.db import open_db

    password = _password(args)

    async def run() -> Any:
        async with await open_db(db_path(args)) as db:
            return await StaffStore(db).add(
                args.username,
                args.name or args.username,
                Role(args.role),
                password,
                datetime.now(CST),
                args.unit,
            )

    account = asyncio.run(run())
    out.write(f"已创建账号 {account.username}（{ROLE_LABELS[account.role]}），登录地址 /staff/login\n")
    return 0


def cmd_list(args: argparse.Namespace, out: TextIO) -> int:
    from bot.staff.accounts import ROLE_LABELS
    from bot.staff.store import StaffStore
    from bot.store.db import open_db

    async def run() -> Any:
        async with await open_db(db_path(args)) as db:
            return await StaffStore(db).accounts()

    accounts = asyncio.run(run())
    if args.json:
        rows = [
            {"id": a.id, "username": a.username, "name": a.display_name, "role": a.role.value, "unit": a.unit}
            for a in accounts
        ]
        out.write(json.dumps(rows, ensure_ascii=False) + "\n")
        return 0
    for a in accounts:
        out.write(f"{a.id}  {a.username}  {a.display_name}  {ROLE_LABELS[a.role]}  {a.unit or ''}\n")
    return 0


def add_parsers(sub: Any) -> None:
    from bot.staff.accounts import Role

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", help="数据库文件（默认 var/yiqiban.db，或环境变量 YIQIBAN_DB）")
    common.add_argument("--json", action="store_true")
    staff = sub.add_parser("staff", help="工作人员账号").add_subparsers(dest="staff_command", required=True)
    add = staff.add_parser("add", parents=[common], help="新建账号（首个管理员也用它）")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    add.add_argument("--name", help="姓名（默认同用户名）")
    add.add_argument("--unit", help="所属承办单位（承办单位账号必填）")
    add.add_argument("--password-stdin", action="store_true", help="从标准输入读密码（脚本用）")
    add.set_defaults(func=cmd_add)
    lst = staff.add_parser("list", parents=[common], help="列出账号")
    lst.set_defaults(func=cmd_list)
