"""`yiqiban tickets …` and `yiqiban db …`: operators' commands on the work-order store.

Every command that touches data takes `--db PATH` (default `./var/yiqiban.db`, or the environment
variable `YIQIBAN_DB`). Refusals name the order and the rule that refused; exit code 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TextIO

from bot.workorder import (
    ACTION_LABELS,
    STATUS_LABELS,
    TYPE_LABELS,
    Action,
    Event,
    OrderType,
    Rating,
    RejectReason,
    ReturnReason,
    Source,
    Urgency,
    WorkOrder,
    visible_contact,
)

ENV_DB = "YIQIBAN_DB"
DEFAULT_DB = Path("var/yiqiban.db")
CST = timezone(timedelta(hours=8))  # Asia/Shanghai has had no DST since 1991


def db_path(args: argparse.Namespace) -> Path:
    return Path(args.db or os.environ.get(ENV_DB) or DEFAULT_DB)


def _now(args: argparse.Namespace) -> datetime:
    if getattr(args, "at", None):
        at = datetime.fromisoformat(args.at)
        return at if at.tzinfo else at.replace(tzinfo=CST)
    return datetime.now(CST)


def order_dict(order: WorkOrder, viewer_unit: str | None = None) -> dict[str, Any]:
    """The order as JSON; the phone as `viewer_unit` may see it (保密工单: only its handler)."""
    out: dict[str, Any] = {}
    for name in order.__dataclass_fields__:
        value = getattr(order, name)
        out[name] = value.isoformat() if isinstance(value, datetime) else value
    out["contact_phone"] = visible_contact(order, viewer_unit)
    out["status_label"] = STATUS_LABELS[order.status]
    return out


def event_dict(event: Event) -> dict[str, Any]:
    return {
        "action": event.action.value,
        "action_label": ACTION_LABELS[event.action],
        "from": event.from_status.value,
        "to": event.to_status.value,
        "by": event.by,
        "at": event.at.isoformat(),
        "note": event.note,
        "data": dict(event.data),
    }


def _line(order: WorkOrder) -> str:
    due = order.deadline.strftime("%Y-%m-%d %H:%M") if order.deadline else "—"
    return (
        f"{order.number}  {STATUS_LABELS[order.status]}  {TYPE_LABELS[order.type]}  "
        f"{order.unit or '（未派单）'}  期限 {due}  {order.content[:30]}"
    )


async def _with_service(args: argparse.Namespace, body: Callable[[Any], Awaitable[int]]) -> int:
    from bot.calendar_config import load_calendar
    from bot.deadlines import DeadlinePolicy
    from bot.store.db import open_db
    from bot.store.orders import SqliteWorkOrderRepo
    from bot.tickets import TicketService

    async with await open_db(db_path(args)) as db:
        service = TicketService(SqliteWorkOrderRepo(db), load_calendar(), DeadlinePolicy.load())
        return await body(service)


def cmd_new(args: argparse.Namespace, out: TextIO) -> int:
    from bot.filing import NewOrder

    draft = NewOrder(
        type=OrderType(args.type),
        urgency=Urgency(args.urgency),
        source=Source(args.source),
        content=args.content,
        petitioner=args.petitioner,
        enterprise_credit_code=args.credit_code,
        contact_phone=args.phone,
        location=args.location,
        confidential=args.confidential,
    )

    async def body(service: Any) -> int:
        order = await service.repo.file(draft, by=args.by, at=_now(args))
        _emit(args, out, order_dict(order), f"已登记工单 {order.number}（{STATUS_LABELS[order.status]}）")
        return 0

    return asyncio.run(_with_service(args, body))


def cmd_list(args: argparse.Namespace, out: TextIO) -> int:
    async def body(service: Any) -> int:
        orders = await service.repo.list(status=args.status, unit=args.unit, limit=args.limit)
        if args.json:
            out.write(json.dumps([order_dict(o) for o in orders], ensure_ascii=False, indent=2) + "\n")
        else:
            out.write("\n".join(_line(o) for o in orders) + "\n" if orders else "没有符合条件的工单。\n")
        return 0

    return asyncio.run(_with_service(args, body))


def cmd_show(args: argparse.Namespace, out: TextIO) -> int:
    if args.as_unit:
        args.as_unit = resolve_unit(args.as_unit)

    async def body(service: Any) -> int:
        from bot.store.attachments import AttachmentStore

        order = await service.get(args.number)
        events = await service.repo.events(args.number)
        files = await AttachmentStore(attachment_root(args)).list(service.repo.db, args.number)
        if args.json:
            doc = {**order_dict(order, args.as_unit), "events": [event_dict(e) for e in events]}
            doc["attachments"] = [{"name": f.name, "media_type": f.media_type, "size": f.size} for f in files]
            doc["notices"] = [
                {"kind": n.kind, "text": n.text, "at": n.at.isoformat()}
                for n in await service.repo.notices(args.number)
            ]
            out.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
            return 0
        out.write(_line(order) + "\n")
        phone = visible_contact(order, args.as_unit)
        if phone:
            out.write(f"  联系电话 {phone}{'（保密工单）' if order.confidential else ''}\n")
        for f in files:
            out.write(f"  附件 {f.name}（{f.media_type}，{f.size} 字节）\n")
        for e in events:
            note = f"  {e.note}" if e.note else ""
            out.write(f"  {e.at:%Y-%m-%d %H:%M}  {ACTION_LABELS[e.action]}  {e.by}{note}\n")
        return 0

    return asyncio.run(_with_service(args, body))


# CLI verb -> (action, how to build its parameters from the arguments)
ACTIONS: dict[str, tuple[Action, Callable[[argparse.Namespace], dict[str, Any]]]] = {
    "accept": (Action.accept, lambda a: {}),
    "reject": (Action.reject, lambda a: {"reason": a.reason}),
    "dispatch": (Action.dispatch, lambda a: {"unit": a.unit}),
    "ack": (Action.acknowledge, lambda a: {}),
    "return": (Action.return_, lambda a: {"reason": a.reason}),
    "extend": (Action.apply_extension, lambda a: {"days": a.days}),
    "approve-extension": (Action.approve_extension, lambda a: {}),
    "reject-extension": (Action.reject_extension, lambda a: {}),
    "close": (Action.resolve, lambda a: {"result": a.result}),
    "visit": (Action.start_visit, lambda a: {}),
    "rate": (Action.rate, lambda a: {"rating": Rating(a.rating)}),
    "close-unrated": (Action.close_unrated, lambda a: {}),
    "reopen": (Action.rate, lambda a: {"rating": Rating.unsatisfied}),
    "urge": (Action.urge, lambda a: {}),
    "supervise": (Action.supervise, lambda a: {}),
    "withdraw": (Action.withdraw, lambda a: {}),
    "merge": (Action.merge, lambda a: {"into": a.into}),
}


def resolve_unit(text: str) -> str:
    """A unit given by id or by name → its catalogue id; unknown units are refused."""
    from bot.dispatch import load_catalogue

    catalogue = load_catalogue()
    unit = catalogue.get(text) or next((u for u in catalogue.units if u.name == text), None)
    if unit is None:
        raise ValueError(
            f"派单目录中没有承办单位“{text}”"
            "（可用 yiqiban tickets suggest 查看建议，单位见 bot/data/units.yaml）"
        )
    return unit.id


def cmd_action(args: argparse.Namespace, out: TextIO) -> int:
    action, build = ACTIONS[args.verb]
    if args.verb == "dispatch":
        args.unit = resolve_unit(args.unit)
    params = build(args)
    if args.note:
        params["note"] = args.note

    async def body(service: Any) -> int:
        order, event = await service.act(args.number, action, by=args.by, at=_now(args), **params)
        text = f"工单 {order.number}：{ACTION_LABELS[action]}，当前状态“{STATUS_LABELS[order.status]}”"
        if order.deadline:
            text += f"，期限 {order.deadline:%Y-%m-%d %H:%M}"
        _emit(args, out, {**order_dict(order), "event": event_dict(event)}, text)
        return 0

    return asyncio.run(_with_service(args, body))


def attachment_root(args: argparse.Namespace) -> Path:
    """Attachments live next to the database file, content-addressed."""
    return db_path(args).parent / "attachments"


def cmd_attach(args: argparse.Namespace, out: TextIO) -> int:
    from bot.store.attachments import AttachmentStore
    from bot.store.db import open_db

    src = Path(args.file)
    data = src.read_bytes()

    async def run() -> int:
        async with await open_db(db_path(args)) as db:
            att = await AttachmentStore(attachment_root(args)).add(
                db, args.number, src.name, data, media_type=args.media_type, by=args.by, at=_now(args)
            )
        doc = {"order_number": att.order_number, "name": att.name, "media_type": att.media_type,
               "size": att.size, "sha256": att.sha256}  # fmt: skip
        _emit(args, out, doc, f"工单 {att.order_number} 已添加附件 {att.name}（{att.size} 字节）")
        return 0

    return asyncio.run(run())


def cmd_migrate(args: argparse.Namespace, out: TextIO) -> int:
    from bot.store.db import open_db

    async def run() -> int:
        async with await open_db(db_path(args)) as db:
            applied = await db.migrate()  # open_db already migrated; this reports the state
            out.write(f"数据库 {db_path(args)} 已是最新结构{'（本次无新迁移）' if not applied else ''}\n")
        return 0

    return asyncio.run(run())


def cmd_backup(args: argparse.Namespace, out: TextIO) -> int:
    from bot.store.db import open_db

    async def run() -> int:
        async with await open_db(db_path(args)) as db:
            await db.backup(Path(args.file))
        out.write(f"已备份到 {args.file}\n")
        return 0

    return asyncio.run(run())


def _emit(args: argparse.Namespace, out: TextIO, doc: dict[str, Any], text: str) -> None:
    out.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n" if args.json else text + "\n")


def add_parsers(sub: Any) -> None:
    """Register `tickets` and `db` on the top-level subparsers."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", help=f"数据库文件（默认 {DEFAULT_DB}，或环境变量 {ENV_DB}）")
    common.add_argument("--json", action="store_true")
    actor = argparse.ArgumentParser(add_help=False)
    actor.add_argument("--by", default=os.environ.get("USER") or "operator", help="操作人")
    actor.add_argument("--at", help="操作时间（ISO 8601，默认现在；用于补录）")
    actor.add_argument("--note", default="", help="备注")

    tickets = sub.add_parser("tickets", help="工单").add_subparsers(dest="tickets_command", required=True)
    new = tickets.add_parser("new", parents=[common, actor], help="登记新工单")
    new.add_argument("--type", required=True, choices=[t.value for t in OrderType])
    new.add_argument("--urgency", default=Urgency.hoped.value, choices=[u.value for u in Urgency])
    new.add_argument("--source", default=Source.console.value, choices=[s.value for s in Source])
    new.add_argument("--content", required=True)
    new.add_argument("--petitioner", required=True, help="诉求人编号")
    new.add_argument("--phone")
    new.add_argument("--credit-code")
    new.add_argument("--location")
    new.add_argument("--confidential", action="store_true")
    new.set_defaults(func=cmd_new)
    lst = tickets.add_parser("list", parents=[common], help="列出工单")
    lst.add_argument("--status")
    lst.add_argument("--unit")
    lst.add_argument("--limit", type=int, default=50)
    lst.set_defaults(func=cmd_list)
    show = tickets.add_parser("show", parents=[common], help="查看工单和办理记录")
    show.add_argument("number")
    show.add_argument("--as-unit", help="以该承办单位身份查看（保密工单只向承办单位显示完整电话）")
    show.set_defaults(func=cmd_show)
    att = tickets.add_parser("attach", parents=[common, actor], help="为工单添加附件（照片、文件）")
    att.add_argument("number")
    att.add_argument("file")
    att.add_argument("--media-type", help="文件类型（默认按扩展名判断）")
    att.set_defaults(func=cmd_attach)
    from bot.cli_reports import add_parsers as add_report_parsers

    add_report_parsers(tickets, common)
    for verb in ACTIONS:
        p = tickets.add_parser(verb, parents=[common, actor], help=ACTION_LABELS[ACTIONS[verb][0]])
        p.add_argument("number")
        if verb == "reject":
            p.add_argument("--reason", required=True, choices=[r.value for r in RejectReason])
        if verb == "return":
            p.add_argument("--reason", required=True, choices=[r.value for r in ReturnReason])
        if verb == "dispatch":
            p.add_argument("--unit", required=True)
        if verb == "extend":
            p.add_argument("--days", type=int, required=True)
        if verb == "close":
            p.add_argument("--result", required=True)
        if verb == "rate":
            p.add_argument("--rating", required=True, choices=[r.value for r in Rating])
        if verb == "merge":
            p.add_argument("--into", required=True, help="保留的工单编号")
        p.set_defaults(func=cmd_action, verb=verb)

    db = sub.add_parser("db", help="数据库").add_subparsers(dest="db_command", required=True)
    mig = db.add_parser("migrate", parents=[common], help="执行数据库迁移")
    mig.set_defaults(func=cmd_migrate)
    bak = db.add_parser("backup", parents=[common], help="在线备份（一致性快照）")
    bak.add_argument("file")
    bak.set_defaults(func=cmd_backup)
