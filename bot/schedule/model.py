"""The scheduler's vocabulary: kinds of pushes, their catch-up policies, and one due item.

Pure data: nothing here reads the clock or the database. Every push the service owes somebody is
an `Item` stored in the `schedule` table before it is due, so a restart loses none of them
(python-telegram-bot's JobQueue and Rasa's reminders keep theirs in memory).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any


class Audience(StrEnum):
    """Entrepreneurs get 无事不扰 (quiet hours, non-working days, a daily cap); staff do not."""

    petitioner = "petitioner"
    staff = "staff"


class CatchUp(StrEnum):
    """What happens to an item found overdue after downtime (or deferred past quiet hours)."""

    send_late = "send_late"  # still worth sending: a notice, a 回访
    merge = "merge"  # only the newest of its group matters (deadline warnings of one order)
    drop_stale = "drop_stale"  # after `stale_after` it is pointless: recorded as dropped


class Kind(StrEnum):
    notice = "notice"  # accepted / dispatched / extended / closed … (from the `notices` outbox)
    visit = "visit"  # 回访: the 5-level rating, the working day after 办结
    visit_reminder = "visit_reminder"  # the one reminder if a 回访 is unanswered
    visit_expire = "visit_expire"  # no answer after the reminder: recorded as 未评价 (no message)
    ack_reminder = "ack_reminder"  # to the handling unit: 签收 not yet done
    deadline_warning = "deadline_warning"  # to the unit: 50 % / 80 % / 100 % of the time limit used
    urge = "urge"  # 催办: the working day after the deadline
    supervise = "supervise"  # 督办: escalation to the responsible leader (领导领办)
    rectify_visit = "rectify_visit"  # the second 回访 after a 差评's rectification deadline
    overdue_digest = "overdue_digest"  # the weekly overdue list (通报)
    poll = "poll"  # a periodic satisfaction poll
    staff_reply = "staff_reply"  # what a person at the staff console wrote to the user
    weekly_summary = "weekly_summary"  # to leaders: last week's 三率, worst units, overdue, hotspot


@dataclass(frozen=True, slots=True)
class Policy:
    audience: Audience
    catch_up: CatchUp
    stale_after: timedelta | None = None  # drop_stale: how late is too late
    urgent: bool = False  # urgent items ignore quiet hours (never used for polls)


POLICIES: dict[Kind, Policy] = {
    Kind.notice: Policy(Audience.petitioner, CatchUp.send_late),
    Kind.visit: Policy(Audience.petitioner, CatchUp.send_late),
    Kind.visit_reminder: Policy(Audience.petitioner, CatchUp.send_late),
    Kind.visit_expire: Policy(Audience.staff, CatchUp.send_late),
    Kind.ack_reminder: Policy(Audience.staff, CatchUp.merge),
    Kind.deadline_warning: Policy(Audience.staff, CatchUp.merge),
    Kind.urge: Policy(Audience.staff, CatchUp.send_late),
    Kind.supervise: Policy(Audience.staff, CatchUp.send_late),
    Kind.rectify_visit: Policy(Audience.petitioner, CatchUp.send_late),
    Kind.overdue_digest: Policy(Audience.staff, CatchUp.drop_stale, stale_after=timedelta(days=2)),
    Kind.weekly_summary: Policy(Audience.staff, CatchUp.drop_stale, stale_after=timedelta(days=2)),
    Kind.poll: Policy(Audience.petitioner, CatchUp.drop_stale, stale_after=timedelta(days=3)),
    # A reply in a conversation the user started: not held for quiet hours or the daily cap.
    Kind.staff_reply: Policy(Audience.petitioner, CatchUp.send_late, urgent=True),
}


class State(StrEnum):
    pending = "pending"  # waiting for `due_at`
    sending = "sending"  # claimed; a send to a non-idempotent channel may be under way
    sent = "sent"
    uncertain = "uncertain"  # was `sending` when the process died: shown to staff, never resent
    dropped = "dropped"  # stale, merged, unsubscribed or over the cap: `note` says why
    failed = "failed"  # gave up after `MAX_ATTEMPTS` (never silently: listed for staff)


MAX_ATTEMPTS = 8


@dataclass(frozen=True, slots=True)
class Target:
    """Who receives an item: a chat address (`channel`, `chat_id`), or a person or a unit that the
    runner resolves to one (`channel` "person" / "unit", `chat_id` the person id / unit id)."""

    channel: str
    chat_id: str


@dataclass(frozen=True, slots=True)
class Item:
    """One push owed to somebody. `key` makes scheduling idempotent: scheduling the same key
    twice keeps the first. `group` is what `CatchUp.merge` collapses (e.g. one order's warnings)."""

    kind: Kind
    target: Target
    due_at: datetime
    text: str
    key: str
    group: str = ""
    buttons: tuple[tuple[str, str], ...] = ()  # (label, payload)
    payload: dict[str, Any] = field(default_factory=dict)
    id: int | None = None
    state: State = State.pending
    attempts: int = 0
    note: str = ""

    @property
    def policy(self) -> Policy:
        return POLICIES[self.kind]
