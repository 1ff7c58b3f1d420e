"""Petition intake: ask only what is still missing, show a summary, file the work order.

The form lives in `turn.dialog.data` (state "petition"): a field is missing while its value is
None; "" means the user skipped it. `step` is the field being asked (or "confirm"). Files sent
at any step are staged (see `files`); the "photos" step only invites them, and is left out when
the engine takes no files.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from bot.core.flows import CANCEL_BUTTON, NO_WORDS, SKIP_WORDS, YES_WORDS, Turn, files
from bot.core.messages import Button, InboundFile, Reply
from bot.filing import NewOrder
from bot.workorder import TYPE_LABELS, OrderType, Urgency, WorkOrder
from intents.model import IntentResult
from intents.slots import extract_slots, mask_phone

STATE = "petition"
FIELDS = ("type", "content", "enterprise", "phone", "location", "photos", "confidential")
FIELD_LABELS = {
    "type": "诉求类型",
    "content": "诉求内容",
    "enterprise": "企业",
    "phone": "联系电话",
    "location": "地点",
    "photos": "附件",
    "confidential": "身份保密",
}
TEXT_ONLY_CHANNELS = frozenset({"console"})  # `yiqiban chat` in a terminal cannot send files
URGENCY = Urgency.hoped  # the intake default (as `yiqiban tickets new`); the centre re-grades it
MIN_DESCRIPTION = 6
MAX_NAME = 100
UNIT_WORDS = {"workdays": "个工作日", "days": "天", "work_hours": "个工作小时"}
CONFIRM_WORDS = frozenset({"确认", "确认提交", "提交", "确定"})
_LEAD = re.compile(
    r"(我们?|本公司|我司)?(想|要|需要|希望)?(提交|提个|提一个|反映|反馈|投诉|举报|求助|咨询|建议)"
    r"(一下|一个|个)?(诉求|问题|情况|事情|事)?"
)
_NOISE = re.compile(r"电话|手机|联系方式|[\W\d_]+")
_TOKEN18 = re.compile(r"[0-9A-Za-z]{18}")
_TYPE_BY_LABEL = {label: t for t, label in TYPE_LABELS.items()}


def _without_phone(text: str, phone: str | None) -> str:
    """The description with the contact number masked: the number is kept in its own field,
    which a 保密工单 shows only to the handling unit, so it must not travel in the text too."""
    if not phone:
        return text
    digits = phone.replace("-", "")
    pattern = r"[-\s]?".join(re.escape(ch) for ch in digits)
    return re.sub(pattern, mask_phone(phone), text)


def start(turn: Turn, r: IntentResult | None = None, text: str = "") -> list[Reply]:
    data: dict[str, Any] = dict.fromkeys(FIELDS)
    data.update(step=None, credit_code=None)
    prefix = ""
    if r is not None:
        s = r.slots
        data["type"] = r.petition_type.value if r.petition_type else None
        data["content"] = _without_phone(text, s.phone) if _describes_problem(text) else None
        data["phone"] = s.phone
        if s.credit_code or s.enterprise_name:
            data["enterprise"], data["credit_code"] = s.enterprise_name or "", s.credit_code
        data["location"] = "、".join(s.places) if s.places else None
        if s.invalid_credit_code and not s.credit_code:
            prefix = _bad_code(s.invalid_credit_code) + "\n"
    turn.dialog.reset(STATE, **data)
    return ask_next(turn, "好的，我来帮您提交诉求，随时可以发送“取消”。\n" + prefix)


def ask_next(turn: Turn, prefix: str = "") -> list[Reply]:
    data = turn.dialog.data
    missing = next((f for f in _fields(turn) if data.get(f) is None), None)
    data["step"] = missing or "confirm"
    if missing is None:
        return [summary(turn, prefix)]
    text, buttons = QUESTIONS[missing]
    return [Reply(prefix + text, (*buttons, CANCEL_BUTTON))]


def _fields(turn: Turn) -> tuple[str, ...]:
    """The form's fields; no "photos" step where no file can come (no store, a terminal)."""
    takes_files = turn.deps.attachments is not None and turn.address.channel not in TEXT_ONLY_CHANNELS
    return FIELDS if takes_files else tuple(f for f in FIELDS if f != "photos")


async def on_files(turn: Turn, received: Sequence[InboundFile]) -> list[Reply]:
    """Files sent while the form is open: staged at any step, then the current step again."""
    notes = await files.stage_all(turn, received)
    data, step = turn.dialog.data, turn.dialog.data.get("step")
    count = len(data.get("files") or [])
    if count and step == "photos":
        notes.append(f"已收到 {count} 个附件，可以继续发送，发完后点“完成”。")
        return [Reply("\n".join(notes), (*files.PHOTOS_BUTTONS, CANCEL_BUTTON))]
    if count:
        notes.append(f"已收到 {count} 个附件，将随诉求一并提交。")
    prefix = "\n".join(notes) + "\n"
    if step == "confirm":
        return [summary(turn, prefix)]
    question, buttons = QUESTIONS.get(str(step), ("", ()))
    return [Reply(prefix + question, (*buttons, CANCEL_BUTTON))]


def summary(turn: Turn, prefix: str = "") -> Reply:
    d = turn.dialog.data
    enterprise = " ".join(x for x in (d["enterprise"], d["credit_code"]) if x) or "未提供"
    lines = [
        "请核对您的诉求：",
        f"诉求类型：{TYPE_LABELS[OrderType(d['type'])]}",
        f"诉求内容：{d['content']}",
        f"企业：{enterprise}",
        f"联系电话：{mask_phone(d['phone'])}",
        f"地点：{d['location'] or '未提供'}",
        f"身份保密：{'是' if d['confidential'] else '否'}",
    ]
    if (line := files.summary_line(turn)) is not None:
        lines.insert(-1, line)
    buttons = (Button("确认提交", "pf:confirm"), Button("修改", "pf:edit"), CANCEL_BUTTON)
    return Reply(prefix + "\n".join(lines), buttons)


async def on_text(turn: Turn, text: str) -> list[Reply]:
    step = turn.dialog.data.get("step")
    if step == "confirm":
        if text in CONFIRM_WORDS:
            return await confirm(turn)
        if text == "修改":
            return edit_menu(turn)
        return [summary(turn, "请点“确认提交”、“修改”或“取消”。\n")]
    problem = _take(turn.dialog.data, str(step), text)
    if problem is not None:
        question, buttons = QUESTIONS.get(str(step), ("", ()))
        return [Reply(problem + "\n" + question, (*buttons, CANCEL_BUTTON))]
    return ask_next(turn)


async def on_button(turn: Turn, payload: str) -> list[Reply] | None:
    """The form's own buttons; None when `payload` does not fit the current step (stale)."""
    data, (kind, _, arg) = turn.dialog.data, payload.partition(":")
    step = data.get("step")
    if kind == "pt" and step == "type" and arg in OrderType.__members__:
        data["type"] = arg
    elif kind == "pc" and step == "confidential" and arg in ("0", "1"):
        data["confidential"] = arg == "1"
    elif kind == "pp" and step == "photos" and arg in ("done", "skip"):
        data["photos"] = arg
    elif kind == "pf" and step == "confirm" and arg == "confirm":
        return await confirm(turn)
    elif kind == "pf" and step == "confirm" and arg == "edit":
        return edit_menu(turn)
    elif kind == "pe" and step == "confirm" and arg in _fields(turn):
        data[arg] = None
        if arg == "enterprise":
            data["credit_code"] = None
    else:
        return None
    return ask_next(turn)


def edit_menu(turn: Turn) -> list[Reply]:
    buttons = tuple(Button(FIELD_LABELS[f], f"pe:{f}") for f in _fields(turn))
    return [Reply("请选择要修改的内容：", (*buttons, CANCEL_BUTTON))]


async def confirm(turn: Turn) -> list[Reply]:
    d = turn.dialog.data
    order_type = OrderType(d["type"])
    content = d["content"] + (f"\n企业名称：{d['enterprise']}" if d["enterprise"] else "")
    draft = NewOrder(
        type=order_type,
        urgency=URGENCY,
        source=turn.source,
        content=content,
        petitioner=turn.person,
        enterprise_credit_code=d["credit_code"] or None,
        contact_phone=d["phone"],
        location=d["location"] or None,
        confidential=bool(d["confidential"]),
    )
    order = await _already_filed(turn, content) or await turn.deps.tickets.repo.file(
        draft, by=turn.person, at=turn.now
    )
    attached = await files.attach_all(turn, order.number)
    turn.dialog.reset()
    done = f"诉求已提交，工单号：{order.number}。\n{promise(turn, order_type)}"
    done += f"\n{attached}" if attached else ""
    return [Reply(done + "\n发送“我的工单”可随时查看办理进度。")]


RESUBMIT_WINDOW = timedelta(minutes=10)


async def _already_filed(turn: Turn, content: str) -> WorkOrder | None:
    """The same person's identical petition filed moments ago, if any.

    Filing commits before the dialog is saved, so a crash in between (or a double tap on 确认提交
    from a slow phone) brings the user back to the summary; confirming again must give the same
    number, not a second order.
    """
    recent = await turn.deps.tickets.repo.list(petitioner=turn.person, limit=5)
    return next(
        (o for o in recent if o.content == content and turn.now - o.created_at < RESUBMIT_WINDOW), None
    )


def promise(turn: Turn, order_type: OrderType) -> str:
    """ "按规定投诉类诉求一般在 10 个工作日内办结", from the deadline policy in force."""
    label = TYPE_LABELS[order_type]
    limit = turn.deps.policy.limit("resolve", order_type.value, URGENCY.value, turn.deps.tickets.profile)
    if limit is None:
        return f"{label}类诉求将按规定时限办理。"
    amount = int(limit.amount) if float(limit.amount).is_integer() else limit.amount
    unit = UNIT_WORDS.get(limit.unit, "小时")
    return f"按规定{label}类诉求一般在 {amount} {unit}内办结。"


def _take(data: dict[str, Any], step: str, text: str) -> str | None:
    """Store the answer to `step`; a polite reason (Chinese) when it cannot be used."""
    if step == "type":
        if text not in _TYPE_BY_LABEL:
            return "请从下面的类型中选择一个。"
        data["type"] = _TYPE_BY_LABEL[text].value
    elif step == "content":
        if len(text) < 2:
            return "描述太短了，请再具体说说。"
        data["content"] = text
    elif step == "enterprise":
        return _take_enterprise(data, text)
    elif step == "phone":
        phone = extract_slots(text).phone
        if phone is None:
            return "没有识别出有效的电话号码。"
        data["phone"] = phone
    elif step == "location":
        data["location"] = "" if text.lower() in SKIP_WORDS else text[:200]
    elif step == "photos":
        if text.lower() not in files.DONE_WORDS | SKIP_WORDS:
            return "请直接发送照片或文件；发完后点“完成”，不需要请点“跳过”。"
        data["photos"] = "done"
    elif step == "confidential":
        if text.lower() not in YES_WORDS | NO_WORDS:
            return "请回答“是”或“否”。"
        data["confidential"] = text.lower() in YES_WORDS
    return None


def _take_enterprise(data: dict[str, Any], text: str) -> str | None:
    if text.lower() in SKIP_WORDS:
        data["enterprise"], data["credit_code"] = "", None
        return None
    slots = extract_slots(text)
    if slots.credit_code:
        data["enterprise"], data["credit_code"] = slots.enterprise_name or "", slots.credit_code
        return None
    bad = slots.invalid_credit_code or next(iter(_TOKEN18.findall(text)), None)
    if bad is not None:
        return _bad_code(bad)
    if len(text) > MAX_NAME:
        return f"企业名称不能超过 {MAX_NAME} 字。"
    data["enterprise"], data["credit_code"] = text, None
    return None


def _bad_code(code: str) -> str:
    reason = "校验位不符，可能有字符输错"
    return f"“{code}”不是有效的统一社会信用代码（{reason}），请核对后重新输入，或回复“跳过”。"


def _describes_problem(text: str) -> bool:
    rest = _NOISE.sub("", _LEAD.sub("", text))
    return len(rest) >= MIN_DESCRIPTION


_TYPE_BUTTONS = tuple(Button(label, f"pt:{t.value}") for t, label in TYPE_LABELS.items())
QUESTIONS: dict[str, tuple[str, tuple[Button, ...]]] = {
    "type": ("请选择诉求类型：", _TYPE_BUTTONS),
    "content": ("请简要描述您遇到的问题：发生了什么、在哪里、希望怎么解决。", ()),
    "enterprise": ("请提供企业名称或 18 位统一社会信用代码（不方便提供可回复“跳过”）。", ()),
    "phone": ("请留下联系电话（手机号或带区号的固定电话），承办单位会通过它联系您。", ()),
    "location": ("问题发生的地点是？（不涉及具体地点可回复“跳过”）", ()),
    "photos": (files.PHOTOS_QUESTION, files.PHOTOS_BUTTONS),
    "confidential": ("是否需要对您的身份信息保密？", (Button("是", "pc:1"), Button("否", "pc:0"))),
}
