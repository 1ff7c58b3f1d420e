"""What to do with the items that are due: send, defer or drop, and why. Pure.

The runner loads the due items and the few facts this needs (how many pushes each person got
today, who unsubscribed from polls) and applies the decisions; keeping the rules here means they
are tested on plain values and an injected time.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.schedule.model import Audience, CatchUp, Item, Kind
from bot.schedule.quiet import QuietHours
from bot.workdays import WorkCalendar

DAILY_CAP = 3  # pushes per entrepreneur per day, urgent ones and replies to them aside


class Verdict(StrEnum):
    send = "send"
    defer = "defer"
    drop = "drop"


@dataclass(frozen=True, slots=True)
class Decision:
    item: Item
    verdict: Verdict
    at: datetime | None = None  # defer: the new due time
    note: str = ""


def plan(
    due: Sequence[Item],
    now: datetime,
    calendar: WorkCalendar,
    *,
    quiet: QuietHours,
    sent_today: Mapping[str, int],
    unsubscribed: Collection[str] = (),
    daily_cap: int = DAILY_CAP,
) -> list[Decision]:
    """One decision per item of `due` (items whose due time has come), in due order.

    - `merge` kinds: of one group only the newest is kept, the others are dropped as merged;
    - `drop_stale` kinds: dropped once more than `stale_after` late (after downtime, say);
    - polls to somebody who unsubscribed are dropped;
    - to entrepreneurs, unless urgent: deferred out of quiet hours and non-working days, and to
      the next allowed day once they had `daily_cap` pushes today (`sent_today`, per target id;
      items sent in this pass count too).
    """
    newest: dict[str, Item] = {}
    for item in due:
        if item.policy.catch_up is CatchUp.merge and item.group:
            kept = newest.get(item.group)
            if kept is None or (item.due_at, item.id or 0) > (kept.due_at, kept.id or 0):
                newest[item.group] = item
    counts = dict(sent_today)
    decisions: list[Decision] = []
    for item in sorted(due, key=lambda i: (i.due_at, i.id or 0)):
        policy = item.policy
        if policy.catch_up is CatchUp.merge and item.group and newest[item.group] is not item:
            kept = newest[item.group]
            decisions.append(Decision(item, Verdict.drop, note=f"merged into {kept.key}"))
            continue
        stale = policy.stale_after
        if policy.catch_up is CatchUp.drop_stale and stale is not None and now - item.due_at > stale:
            decisions.append(Decision(item, Verdict.drop, note=f"stale: {now - item.due_at} late"))
            continue
        if item.kind is Kind.poll and item.target.chat_id in unsubscribed:
            decisions.append(Decision(item, Verdict.drop, note="unsubscribed"))
            continue
        if policy.audience is Audience.petitioner and not policy.urgent:
            allowed = quiet.next_allowed(now, calendar)
            if allowed > now:
                decisions.append(Decision(item, Verdict.defer, allowed, "quiet hours"))
                continue
            who = item.target.chat_id
            if counts.get(who, 0) >= daily_cap:
                tomorrow = datetime.combine(now.date() + timedelta(days=1), quiet.end, tzinfo=now.tzinfo)
                at = quiet.next_allowed(tomorrow, calendar)
                decisions.append(Decision(item, Verdict.defer, at, f"daily cap {daily_cap} reached"))
                continue
            counts[who] = counts.get(who, 0) + 1
        decisions.append(Decision(item, Verdict.send))
    return decisions
