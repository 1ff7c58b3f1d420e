"""The work-order service: the state machine, the deadline rules and the store, wired together.

The domain pieces stay pure (`transitions.apply` never reads a clock or a calendar; `deadlines`
never touches the database). This service is the one place that knows which action starts which
clock: 派单 starts the 签收 clock, 签收 starts the 办结 clock, an approved 延期 moves the deadline
by working days, and a 重办 after an unsatisfied 回访 gets a fresh 办结 clock. It also queues what
the petitioner must be told (bot.notices) and the follow-ups the change plans (bot.schedule:
reminders, deadline warnings, 催办, 督办, 回访) in the same transaction as the change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.deadlines import DeadlinePolicy, ack_deadline
from bot.notices import notices_for
from bot.schedule.producers import ScheduleSettings, after_event, superseded_by
from bot.store.orders import OrderNotFound, WorkOrderRepo
from bot.transitions import apply
from bot.workdays import WorkCalendar
from bot.workorder import SATISFIED, Action, Event, Rating, WorkOrder


@dataclass(slots=True)
class TicketService:
    """Acts on stored work orders; every successful call has committed before it returns."""

    repo: WorkOrderRepo
    calendar: WorkCalendar
    policy: DeadlinePolicy
    profile: str | None = None  # deadline profile; None: the configured default (henan_12345)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)  # reminders, 回访 …

    async def get(self, number: str) -> WorkOrder:
        order = await self.repo.get(number)
        if order is None:
            raise OrderNotFound(number)
        return order

    async def act(
        self, number: str, action: Action, *, by: str, at: datetime, **params: Any
    ) -> tuple[WorkOrder, Event]:
        """Apply `action` to the stored order, with the deadline its rules imply, and save both
        the new order and its audit event in one transaction."""
        order = await self.get(number)
        params = {**params, **self._deadline_for(order, action, at, params)}
        new, event = apply(order, action, by=by, at=at, **params)
        follow_ups = after_event(new, event, self.calendar, self.policy, settings=self.schedule)
        await self.repo.save(new, event, notices_for(new, event), follow_ups, superseded_by(event))
        return new, event

    def ack_deadline(self, order: WorkOrder, dispatched_at: datetime) -> datetime:
        """When a dispatch had to be signed for (签收): what the 响应率 measures against. A profile
        without a 签收 limit gets the hotline's common 24 hours."""
        return ack_deadline(self.policy, self.calendar, order, dispatched_at, self.profile)

    def _due(self, stage: str, order: WorkOrder, start: datetime) -> datetime | None:
        try:
            return self.policy.due(
                stage, order.type.value, order.urgency.value, start, self.calendar, self.profile
            )
        except LookupError:
            return None  # this profile sets no limit for the stage: the order keeps none

    def _deadline_for(
        self, order: WorkOrder, action: Action, at: datetime, params: Mapping[str, Any]
    ) -> dict[str, datetime]:
        if "deadline" in params:
            return {}  # an operator's explicit deadline wins
        due: datetime | None = None
        if action is Action.dispatch:
            due = self._due("acknowledge", order, at)
        elif action is Action.acknowledge:
            due = self._due("resolve", order, at)
        elif action is Action.approve_extension and order.extension_pending_days:
            due = self.calendar.add_workdays(order.deadline or at, order.extension_pending_days)
        elif action is Action.rate and _unsatisfied(params.get("rating")):
            due = self._due("resolve", order, at)
        return {"deadline": due} if due is not None else {}


def _unsatisfied(rating: object) -> bool:
    try:
        return Rating(str(rating)) not in SATISFIED
    except ValueError:
        return False  # an invalid rating is refused by the state machine, with its own message
