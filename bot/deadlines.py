"""Work-order time limits as data: which deadline applies to which stage, type and urgency.

The numbers live in `bot/data/deadlines.yaml`, each with the source it comes from, because they are
policy, not code: when a rule changes an operator edits one line and the loader checks it. Loading
validates everything (unknown fields, stages, types or units are errors that name the file, line and
field), so the bot never runs on a half-understood configuration. Computing a deadline is pure: the
start time and the `WorkCalendar` are passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal, cast, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bot.datafiles import read_data_file
from bot.workdays import WorkCalendar
from bot.workorder import WorkOrder

Stage = Literal["dispatch", "acknowledge", "first_feedback", "resolve"]
"""派单, 签收, 首次反馈, 办结."""
OrderType = Literal["inquiry", "help", "complaint", "report", "suggestion"]
"""咨询, 求助, 投诉, 举报, 建议."""
Urgency = Literal["urgent", "hard", "worrying", "hoped"]
"""急事即知即办, 难事建账领办, 愁事合力共办, 盼事跟踪订办."""
Unit = Literal["workdays", "days", "work_hours", "clock_hours", "clock_hours_rolling"]

STAGES: tuple[str, ...] = get_args(Stage)
ORDER_TYPES: tuple[str, ...] = get_args(OrderType)
URGENCIES: tuple[str, ...] = get_args(Urgency)
_DAY_UNITS = {"workdays", "days"}
BUNDLED = "data/deadlines.yaml"


class DeadlineConfigError(ValueError):
    """A deadlines file that cannot be used; names the file, line and dotted field path."""

    def __init__(self, path: str, field: str | None, message: str, line: int | None = None) -> None:
        self.path, self.field, self.message, self.line = path, field, message, line
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}，字段 {field}：{message}" if field else f"{where}：{message}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Limit(_Strict):
    """One time limit: an amount and how it is counted (see the units in the YAML header)."""

    amount: float = Field(ge=0)
    unit: Unit

    @model_validator(mode="after")
    def _whole_days(self) -> Limit:
        if self.unit in _DAY_UNITS and not float(self.amount).is_integer():
            raise ValueError(f"{self.unit} must be a whole number, got {self.amount}")
        return self

    def apply(self, start: datetime, calendar: WorkCalendar) -> datetime:
        """The deadline for a clock started at `start`."""
        if self.unit == "workdays":
            return calendar.add_workdays(start, int(self.amount))
        if self.unit == "days":
            return calendar.add_days_rolling(start, int(self.amount))
        if self.unit == "work_hours":
            return calendar.add_work_hours(start, self.amount)
        if self.unit == "clock_hours_rolling":
            return calendar.add_clock_hours_rolling(start, self.amount)
        return calendar.add_clock_hours(start, self.amount)


class StageLimits(_Strict):
    """Limits per stage; a stage left out is inherited from the next, more general level."""

    dispatch: Limit | None = None
    acknowledge: Limit | None = None
    first_feedback: Limit | None = None
    resolve: Limit | None = None

    def get(self, stage: str) -> Limit | None:
        value: Limit | None = getattr(self, stage)
        return value


class Profile(_Strict):
    """A complete set of limits, e.g. the Henan 12345 rules or the 13710 enterprise clock."""

    title: str
    source: str = Field(min_length=1)
    stages: StageLimits = StageLimits()
    by_type: dict[OrderType, StageLimits] = {}
    by_urgency: dict[Urgency, StageLimits] = {}


class DeadlineFile(_Strict):
    version: Literal[1]
    default_profile: str
    profiles: dict[str, Profile] = Field(min_length=1)

    @model_validator(mode="after")
    def _default_exists(self) -> DeadlineFile:
        if self.default_profile not in self.profiles:
            have = sorted(self.profiles)
            raise ValueError(f"default_profile {self.default_profile!r} is not one of {have}")
        return self


def _line(text: str, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the YAML mapping node at `loc`, or of its nearest existing parent."""
    try:
        node: yaml.Node | None = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = node.start_mark.line + 1 if node is not None else None
    for step in loc:
        if not isinstance(node, yaml.MappingNode):
            break
        node = next((v for k, v in node.value if k.value == str(step)), None)
        if node is None:
            break
        line = node.start_mark.line + 1
    return line


def _config_error(where: str, text: str, exc: ValidationError) -> DeadlineConfigError:
    err = exc.errors()[0]
    loc = tuple(s for s in err["loc"] if s != "[key]")
    msg = err["msg"]
    if err["type"] == "missing":
        msg = "缺少必填字段"
    elif err["type"] == "extra_forbidden":
        msg = "未知字段（拼写错误？）"
    field = ".".join(str(s) for s in loc) or None
    return DeadlineConfigError(where, field, msg, _line(text, loc))


def _check(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {name} {value!r}; expected one of {', '.join(allowed)}")


@dataclass(frozen=True, slots=True)
class DeadlinePolicy:
    """The validated deadline configuration and the lookup `(stage, type, urgency) -> Limit`."""

    config: DeadlineFile
    source: str

    @classmethod
    def load(cls, path: Path | str | None = None) -> DeadlinePolicy:
        """Read and validate `path`, or the bundled `bot/data/deadlines.yaml` when None."""
        where, text = read_data_file(path, BUNDLED, lambda where, msg: DeadlineConfigError(where, None, msg))
        return cls.from_text(text, where)

    @classmethod
    def from_text(cls, text: str, where: str = "<string>") -> DeadlinePolicy:
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None
            raise DeadlineConfigError(where, None, f"YAML 语法错误：{exc}", line) from None
        try:
            config = DeadlineFile.model_validate(doc)
        except ValidationError as exc:
            raise _config_error(where, text, exc) from None
        return cls(config, where)

    def profile(self, name: str | None = None) -> Profile:
        name = name or self.config.default_profile
        try:
            return self.config.profiles[name]
        except KeyError:
            have = sorted(self.config.profiles)
            raise ValueError(f"unknown deadline profile {name!r}; have {have}") from None

    def limit(self, stage: str, order_type: str, urgency: str, profile: str | None = None) -> Limit | None:
        """The most specific limit: by urgency, then by type, then the profile's stage default."""
        _check("stage", stage, STAGES)
        _check("order type", order_type, ORDER_TYPES)
        _check("urgency", urgency, URGENCIES)
        prof = self.profile(profile)
        levels = (
            prof.by_urgency.get(cast(Urgency, urgency)),
            prof.by_type.get(cast(OrderType, order_type)),
            prof.stages,
        )
        for level in levels:
            if level is not None and (found := level.get(stage)) is not None:
                return found
        return None

    def due(
        self,
        stage: str,
        order_type: str,
        urgency: str,
        start: datetime,
        calendar: WorkCalendar,
        profile: str | None = None,
    ) -> datetime:
        """Deadline for `stage` when its clock started at `start` (see the YAML header for which event
        starts which clock). Raises LookupError if the profile sets no limit for that stage."""
        found = self.limit(stage, order_type, urgency, profile)
        if found is None:
            name = profile or self.config.default_profile
            raise LookupError(f"profile {name!r} sets no {stage} limit for {order_type}/{urgency}")
        return found.apply(start, calendar)


def ack_deadline(
    policy: DeadlinePolicy,
    calendar: WorkCalendar,
    order: WorkOrder,
    dispatched_at: datetime,
    profile: str | None = None,
) -> datetime:
    """When a dispatch had to be signed for (签收), which the 响应率 measures against; a profile
    without a 签收 limit gets the hotline's common 24 hours."""
    try:
        return policy.due(
            "acknowledge", order.type.value, order.urgency.value, dispatched_at, calendar, profile
        )
    except LookupError:
        return dispatched_at + timedelta(hours=24)
