"""The scheduler: wakes at the next due time (APScheduler) and on a safety interval, and each pass
plans the due items (`plan`) and delivers them through the channel each one resolves to.

Delivery and what "exactly once" means per channel:
- our own web chat and the staff inbox: the message row (keyed by the item) and `state = 'sent'`
  are written in one transaction, so an item is delivered exactly once whatever crashes;
- Telegram has no idempotent send: the item is claimed (`sending`, committed) before the call and
  marked `sent` after it. A process killed in between leaves it `sending`, which the next start
  turns into `uncertain`: listed for staff, never resent twice, never silently dropped.
A failed send is retried with exponential backoff up to `MAX_ATTEMPTS`, then `failed` (listed).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.schedule.model import MAX_ATTEMPTS, Audience, Item, Kind, Target
from bot.schedule.plan import DAILY_CAP, Verdict, plan
from bot.schedule.poll_store import schedule_due_polls
from bot.schedule.producers import weekly_overdue_digest
from bot.schedule.quiet import QuietHours
from bot.schedule.store import ScheduleStore
from bot.schedule.telegram_push import PushFailed, PushRefused
from bot.store.db import Database, StoreError
from bot.tickets import TicketService
from bot.workdays import WorkCalendar
from bot.workorder import Action, Event, Status, TransitionError, WorkOrder

log = logging.getLogger(__name__)

BATCH = 500  # items planned per pass: bounded work per pass however long the backlog
SENDS_IN_FLIGHT = 32  # concurrent Telegram sends; the pusher's limiter does the pacing
SAFETY_INTERVAL_S = 60.0
STAFF_CHANNELS = ("unit", "leader")
ORDER_ACTIONS: dict[Kind, tuple[Action, frozenset[Status]]] = {
    Kind.urge: (Action.urge, frozenset({Status.dispatched, Status.in_progress})),
    Kind.supervise: (
        Action.supervise,
        frozenset({Status.pending, Status.accepted, Status.dispatched, Status.in_progress}),
    ),
    Kind.visit_expire: (Action.close_unrated, frozenset({Status.resolved, Status.awaiting_visit})),
}


class Pusher(Protocol):
    async def send(
        self,
        chat_id: str,
        text: str,
        buttons: tuple[tuple[str, str], ...] = (),
        before_request: Callable[[], Awaitable[None]] | None = None,
    ) -> int: ...


class _Taken(Exception):
    """Another pass claimed the item first."""


@dataclass(slots=True)
class Tick:
    """What one pass did."""

    sent: int = 0
    deferred: int = 0
    dropped: int = 0
    retried: int = 0
    failed: int = 0
    more: bool = False  # a full batch: more items are due
    notes: list[str] = field(default_factory=list)


class Waker:
    """A late-bound `Scheduler.poke`: the web app is built before the scheduler starts, and staff
    replies it schedules should go out now, not at the next safety interval."""

    def __init__(self) -> None:
        self.target: Callable[[], None] | None = None

    def __call__(self) -> None:
        if self.target is not None:
            self.target()


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min … capped at one hour."""
    return timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


class Scheduler:
    def __init__(
        self,
        db: Database,
        *,
        clock: Callable[[], datetime],
        calendar: WorkCalendar,
        quiet: QuietHours | None = None,
        daily_cap: int = DAILY_CAP,
        telegram: Pusher | None = None,
        tickets: TicketService | None = None,
        batch: int = BATCH,
    ) -> None:
        """`tickets`: where an unanswered 回访 is archived as 未评价 (`visit_expire`); without it
        the staff are only told."""
        self.db, self.store = db, ScheduleStore(db)
        self.clock, self.calendar = clock, calendar
        self.quiet = quiet or QuietHours()
        self.daily_cap, self.telegram, self.batch = daily_cap, telegram, batch
        self.tickets = tickets
        self._pass_lock = asyncio.Lock()
        self._aps: AsyncIOScheduler | None = None
        self._digest_week: tuple[int, int] | None = None
        self._active = 0  # passes started by APScheduler and not finished
        self._idle = asyncio.Event()
        self._idle.set()
        self._pass_done = asyncio.Event()  # replaced after each pass: see `next_pass`

    # -- one pass ---------------------------------------------------------------------------------

    async def tick(self, now: datetime | None = None) -> Tick:
        """Plan and deliver the items due as of `now` (default: the clock), one batch."""
        async with self._pass_lock:
            now = now or self.clock()
            await schedule_due_polls(self.db, now, self.calendar)  # this month's round, once
            due = await self.store.due(now, self.batch)
            people = [i.target.chat_id for i in due if i.target.channel == "person"]
            day_start = datetime.combine(now.date(), datetime.min.time(), tzinfo=now.tzinfo)
            decisions = plan(
                due,
                now,
                self.calendar,
                quiet=self.quiet,
                sent_today=await self.store.sent_since(people, day_start),
                unsubscribed=await self.store.unsubscribed(people),
                daily_cap=self.daily_cap,
            )
            result = Tick(more=len(due) == self.batch)
            drops: list[tuple[int, str]] = []
            defers: list[tuple[int, datetime, str]] = []
            for d in decisions:
                assert d.item.id is not None
                if d.verdict is Verdict.drop:
                    drops.append((d.item.id, d.note))
                elif d.verdict is Verdict.defer:
                    assert d.at is not None
                    defers.append((d.item.id, d.at, d.note))
            sending = []
            for d in decisions:
                if d.verdict is not Verdict.send:
                    continue
                if d.item.kind is Kind.rectify_visit and not await self._order_resolved(d.item):
                    assert d.item.id is not None
                    drops.append((d.item.id, "整改尚未办结：办结后的回访即第二次回访"))
                    continue
                sending.append(d.item)
            addresses = await self._resolve([i.target for i in sending])
            for item in sending:
                if item.kind in ORDER_ACTIONS:
                    await self._act_on_order(item, now)
            staff, web, telegram, failures = self._route(sending, addresses)
            gone = await self.store.settle(
                now, drops=drops, defers=defers, staff=staff, web=web, failures=failures
            )
            result.dropped, result.deferred = len(drops), len(defers)
            result.sent = len(staff) + len(web) - len(gone)
            result.failed = len(failures) + len(gone)
            gate = asyncio.Semaphore(SENDS_IN_FLIGHT)

            async def send(item: Item, chat_id: str) -> None:
                async with gate:
                    await self._send_telegram(item, chat_id, now, result)

            await asyncio.gather(*(send(item, chat) for item, chat in telegram))
            return result

    def _route(
        self, items: Sequence[Item], addresses: dict[Target, Target]
    ) -> tuple[list[Item], list[tuple[Item, str]], list[tuple[Item, str]], list[tuple[int, str]]]:
        """Which way each item goes: the staff inbox, a web chat, Telegram, or (with the reason
        why) nowhere."""
        staff: list[Item] = []
        web: list[tuple[Item, str]] = []
        telegram: list[tuple[Item, str]] = []
        failures: list[tuple[int, str]] = []
        for item in items:
            assert item.id is not None
            address = addresses.get(item.target)
            if item.target.channel in STAFF_CHANNELS or item.policy.audience is Audience.staff:
                staff.append(item)
            elif address is None:
                failures.append((item.id, "没有可以送达的渠道（该用户只用过终端或尚无会话）"))
            elif address.channel == "web":
                web.append((item, address.chat_id))
            elif address.channel == "telegram" and self.telegram is not None:
                telegram.append((item, address.chat_id))
            else:
                failures.append((item.id, f"渠道 {address.channel} 暂不支持主动推送"))
        return staff, web, telegram, failures

    async def _order_resolved(self, item: Item) -> bool:
        """The second 回访 asks to rate the rectified work: only once it is 办结 (if it is not by
        the rectification deadline, the 回访 that its 办结 schedules is the second one)."""
        number = item.payload.get("order")
        if self.tickets is None or not isinstance(number, str):
            return True
        try:
            order = await self.tickets.get(number)
        except StoreError:
            return False
        return order.status in (Status.resolved, Status.awaiting_visit)

    async def _act_on_order(self, item: Item, now: datetime) -> None:
        """Some pushes are also acts on the order, recorded in its audit trail (and counted by
        the indicators): a scheduled 催办 or 督办, and 未评价 when the 回访 and its reminder went
        unanswered. Only while the order is still in a status the act applies to: anything that
        moved it on meanwhile has usually cancelled the item anyway."""
        number = item.payload.get("order")
        if self.tickets is None or not isinstance(number, str):
            return
        action, statuses = ORDER_ACTIONS[item.kind]
        mark = f"计划推送 {item.key}"  # in the event's note: a pass repeated after a crash (the act
        try:  # committed, the item not yet marked sent) finds it and does not act twice
            order = await self.tickets.get(number)
            done = any(e.note == mark for e in await self.tickets.repo.events(number))
            if order.status in statuses and not done:
                await self.tickets.act(number, action, by="scheduler", at=now, note=mark)
        except (StoreError, TransitionError) as exc:  # e.g. rated at this very moment
            log.warning("scheduled %s on %s not applied: %s", action.value, number, exc)

    async def _send_telegram(self, item: Item, chat_id: str, now: datetime, result: Tick) -> None:
        assert item.id is not None and self.telegram is not None
        item_id = item.id
        claimed = False

        async def claim() -> None:
            """pending → sending, committed right before the (first) HTTP request."""
            nonlocal claimed
            if not claimed:
                if not await self.store.claim(item_id, self.clock()):
                    raise _Taken
                claimed = True

        try:
            await self.telegram.send(chat_id, item.text, item.buttons, before_request=claim)
        except _Taken:
            return  # another pass took it
        except PushRefused as exc:
            await self.store.fail(item_id, now, f"Telegram 拒绝：{exc}")
            result.failed += 1
            return
        except PushFailed as exc:
            if item.attempts + 1 >= MAX_ATTEMPTS:
                await self.store.fail(item_id, now, f"重试 {MAX_ATTEMPTS} 次仍未送达：{exc}")
                result.failed += 1
            else:
                await self.store.retry(item_id, now + backoff(item.attempts + 1), now, f"将重试：{exc}")
                result.retried += 1
            return
        await self.store.sent(item, now, f"telegram:{chat_id}")
        result.sent += 1

    async def _resolve(self, targets: Sequence[Target]) -> dict[Target, Target]:
        """Where each target can be reached: a person → the chat they used last (web or
        Telegram), one query for the whole batch; a chat address is itself. A person with no
        such chat is missing from the result."""
        out = {t: t for t in targets if t.channel not in ("person", *STAFF_CHANNELS)}
        people = sorted({t.chat_id for t in targets if t.channel == "person"})
        for start in range(0, len(people), 500):
            part = people[start : start + 500]
            marks = ", ".join("?" * len(part))
            rows = await self.db.fetchall(
                "SELECT person_id, channel, external_id FROM ("
                " SELECT i.person_id, i.channel, i.external_id, row_number() OVER ("
                "  PARTITION BY i.person_id ORDER BY max(m.id) DESC) AS rank"
                " FROM identities i JOIN messages m ON m.channel = i.channel"
                "  AND m.chat_id = i.external_id AND m.direction = 'in'"
                f" WHERE i.person_id IN ({marks}) AND i.channel IN ('web', 'telegram')"
                " GROUP BY i.person_id, i.channel, i.external_id"
                ") WHERE rank = 1",
                part,
            )
            for r in rows:
                out[Target("person", str(r["person_id"]))] = Target(r["channel"], r["external_id"])
        return out

    # -- running ----------------------------------------------------------------------------------

    async def plan_weekly_digest(self, now: datetime) -> bool:
        """The weekly overdue list (通报): from 09:00 of the week's first working day, once per
        ISO week (the item's key), when any order is overdue. True if one was scheduled."""
        year, week, _ = now.isocalendar()
        if self.tickets is None or self._digest_week == (year, week):
            return False
        monday = now.date() - timedelta(days=now.weekday())
        first = self.calendar.workday_on_or_after(monday)
        opening = datetime.combine(first, self.calendar.hours[0][0], tzinfo=now.tzinfo)
        if first.isocalendar()[:2] != (year, week) or now < opening:
            return False  # the week has no working day yet (a holiday week), or it is too early
        self._digest_week = (year, week)  # checked: not again this week in this process
        key = f"{Kind.overdue_digest}:{year}-W{week:02d}"
        summary_key = f"{Kind.weekly_summary}:{year}-W{week:02d}"
        found = await self.db.fetchall("SELECT key FROM schedule WHERE key IN (?, ?)", (key, summary_key))
        if len(found) == 2:
            return False
        orders = [o async for o in self.tickets.repo.iter_all()]
        items: list[Item] = []
        if key not in {r["key"] for r in found}:
            owed = [o for o in orders if o.status in (Status.dispatched, Status.in_progress)]
            digest = weekly_overdue_digest(owed, now, self.calendar)
            items += [digest] if digest is not None else []
        if summary_key not in {r["key"] for r in found}:
            text = await asyncio.to_thread(
                self._weekly_text, orders, await self.tickets.repo.all_events(), now
            )
            items.append(Item(Kind.weekly_summary, Target("leader", "centre"), now, text, summary_key))
        return await self.store.add(items, now) > 0

    def _weekly_text(self, orders: list[WorkOrder], events: list[Event], now: datetime) -> str:
        """Last week's summary for the district's leaders (bot.reports.weekly)."""
        from bot.dispatch import load_catalogue
        from bot.indicators import IndicatorConfig
        from bot.reports.weekly import build_weekly
        from knowledge.lexicon import Lexicon

        tickets = self.tickets
        assert tickets is not None
        names = {u.id: u.name for u in load_catalogue().units}
        return build_weekly(
            orders, events, now=now, config=IndicatorConfig.load(), lexicon=Lexicon.load(), names=names,
            ack_deadline=tickets.ack_deadline,
        )  # fmt: skip

    async def run_due(self) -> Tick:
        """Passes until nothing more is due now; the totals."""
        await self.plan_weekly_digest(self.clock())
        total = Tick()
        while True:
            t = await self.tick()
            for name in ("sent", "deferred", "dropped", "retried", "failed"):
                setattr(total, name, getattr(total, name) + getattr(t, name))
            if not t.more:
                return total

    async def start(self, safety_interval_s: float = SAFETY_INTERVAL_S) -> int:
        """Recover interrupted sends, then wake at each next due time and every
        `safety_interval_s`; returns how many items were found interrupted (now uncertain)."""
        interrupted = await self.store.recover(self.clock())
        if interrupted:
            log.warning("%d scheduled pushes were interrupted mid-send: marked uncertain", interrupted)
        self._aps = AsyncIOScheduler(timezone=self.clock().tzinfo)
        self._aps.add_job(
            self._wake,
            IntervalTrigger(seconds=safety_interval_s),
            id="safety",
            coalesce=True,
            max_instances=1,
        )
        self._aps.start()
        await self._wake()
        return interrupted

    async def stop(self) -> None:
        """Stop waking up; a pass under way finishes its writes first (it is not cancelled)."""
        aps, self._aps = self._aps, None  # a pass that ends now schedules nothing more
        if aps is None:
            return
        aps.pause()
        await self._idle.wait()
        aps.shutdown(wait=False)

    def poke(self) -> None:
        """Something new was scheduled: run a pass soon rather than at the safety interval."""
        if self._aps is not None:
            self._aps.add_job(self._wake, DateTrigger(), id="poke", replace_existing=True)

    async def _wake(self) -> None:
        self._active += 1
        self._idle.clear()
        try:
            try:
                await self.run_due()
            except Exception:
                log.exception("scheduler pass failed; the safety interval retries")
            if self._aps is None:
                return
            upcoming = await self.store.next_due()
            if upcoming is not None and self._aps is not None:
                at = max(upcoming, self.clock())
                self._aps.add_job(self._wake, DateTrigger(run_date=at), id="next", replace_existing=True)
        finally:
            self._active -= 1
            if not self._active:
                self._idle.set()
            done, self._pass_done = self._pass_done, asyncio.Event()
            done.set()

    async def next_pass(self) -> None:
        """Wait until the next pass the running scheduler starts (a wake-up, a poke) has finished."""
        await self._pass_done.wait()
