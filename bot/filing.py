"""Filing (提交) a new work order: the draft a petitioner submits and the pure step that opens it.

Kept out of `bot.transitions` because filing is not a transition: there is no order yet, so it
has no from-state in `ALLOWED` and `apply(order, Action.file)` stays refused. The store picks the
number (it owns the per-day sequence) and then calls `file_order`, so the shape of a new order
and of its first audit event is decided here, without I/O, like every other change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.workorder import (
    Action,
    Event,
    OrderType,
    Source,
    Status,
    Urgency,
    WorkOrder,
    parse_order_number,
)
from intents.credit_code import is_valid_credit_code

MAX_CONTENT_CHARS = 5000  # a 12345 诉求 is a description, not an attachment


class InvalidOrder(ValueError):
    """A draft (or the filing call) refused before anything was stored; `field` names the culprit."""

    def __init__(self, field: str, detail: str) -> None:
        self.field = field
        super().__init__(f"工单字段 {field} 无效：{detail}")


@dataclass(frozen=True, slots=True, kw_only=True)
class NewOrder:
    """What the petitioner submits. Validated on construction, so an invalid draft cannot exist.

    The credit code is normalised to upper case (users type it in lower case) so that one
    enterprise never appears under two spellings.
    """

    type: OrderType
    urgency: Urgency
    source: Source
    content: str
    petitioner: str
    enterprise_credit_code: str | None = None
    contact_phone: str | None = None
    location: str | None = None
    confidential: bool = False

    def __post_init__(self) -> None:
        content = self.content.strip() if isinstance(self.content, str) else ""
        if not content:
            raise InvalidOrder("content", "诉求内容不能为空")
        if len(content) > MAX_CONTENT_CHARS:
            raise InvalidOrder(
                "content", f"诉求内容不能超过 {MAX_CONTENT_CHARS} 字（当前 {len(content)} 字）"
            )
        if not isinstance(self.petitioner, str) or not self.petitioner.strip():
            raise InvalidOrder("petitioner", "必须注明诉求人")
        code = self.enterprise_credit_code
        if code is not None:
            if not isinstance(code, str) or not is_valid_credit_code(code.strip()):
                raise InvalidOrder("enterprise_credit_code", f"统一社会信用代码不正确：{code!r}")
            object.__setattr__(self, "enterprise_credit_code", code.strip().upper())
        object.__setattr__(self, "content", content)


def file_order(draft: NewOrder, *, number: str, by: str, at: datetime) -> tuple[WorkOrder, Event]:
    """The new `pending` order (version 1) and its `file` event.

    The event goes from `pending` to `pending`: there is no earlier status, and the audit trail
    only needs to show who filed it, when and through which channel.
    """
    try:
        parse_order_number(number)
    except ValueError as exc:
        raise InvalidOrder("number", str(exc)) from None
    if not isinstance(by, str) or not by.strip():
        raise InvalidOrder("by", "必须注明操作人")
    if not isinstance(at, datetime) or at.tzinfo is None:
        raise InvalidOrder("at", "必须是带时区的时间")
    order = WorkOrder(
        number=number,
        type=draft.type,
        urgency=draft.urgency,
        source=draft.source,
        status=Status.pending,
        content=draft.content,
        petitioner=draft.petitioner,
        created_at=at,
        updated_at=at,
        enterprise_credit_code=draft.enterprise_credit_code,
        contact_phone=draft.contact_phone,
        location=draft.location,
        confidential=draft.confidential,
        version=1,
    )
    event = Event(
        order_number=number,
        action=Action.file,
        from_status=Status.pending,
        to_status=Status.pending,
        by=by,
        at=at,
        data=(("type", draft.type.value), ("urgency", draft.urgency.value), ("source", draft.source.value)),
    )
    return order, event
