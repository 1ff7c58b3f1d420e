"""Periodic satisfaction polls as data (`bot/data/polls.yaml`), and the pure rules around them.

The questionnaire is content that operators change (and that must be approved before go-live), so
it lives in YAML, validated on load: an unknown field or a payload that Telegram would refuse is
an error naming the file and the field, never a poll that silently cannot be answered. Everything
here is pure (the clock, the calendar and the stored answers are passed in), so the rules of when
a round is due, what a recipient receives and how answers add up are tested on plain values.

A round is one poll for one period (`YYYY-MM`). Its items go to people (`Target("person", id)`),
one per person, keyed `poll:<poll>:<period>:<person>` so scheduling a round twice is harmless.
Each button carries `poll:<poll>:<period>:<question>:<value>`: the whole answer, so pressing it
needs no dialog state and still works after a restart.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.datafiles import read_data_file
from bot.schedule.model import Item, Kind, Target
from bot.store.db import CST
from bot.workdays import WorkCalendar

BUNDLED = "data/polls.yaml"
PREFIX = "poll"
SKIP = "-"  # the value of the comment question's 跳过 button
MAX_COMMENT = 500
SCALE5: tuple[tuple[str, str], ...] = (
    ("5", "非常满意"),
    ("4", "满意"),
    ("3", "一般"),
    ("2", "不满意"),
    ("1", "非常不满意"),
)
YES_NO: tuple[tuple[str, str], ...] = (("y", "是"), ("n", "否"))
_SATISFIED_SCALE = frozenset({"5", "4"})
# ASCII ids of at most 16 characters keep every payload within 48 bytes: "poll:" + id + ":YYYY-MM:"
# + question id + ":" + a one-character value, well under Telegram's 64 bytes of callback data.
_ID = r"^[A-Za-z0-9_]{1,16}$"
_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class PollConfigError(ValueError):
    """A polls file that cannot be used; the message names the file and the dotted field."""

    def __init__(self, path: str, field: str | None, message: str) -> None:
        self.path, self.field, self.message = path, field, message
        super().__init__(f"{path}，字段 {field}：{message}" if field else f"{path}：{message}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Question(_Strict):
    id: str = Field(pattern=_ID)
    kind: Literal["scale5", "yes_no", "comment"]
    text: str = Field(min_length=1)
    favourable: Literal["y", "n"] | None = None  # yes_no: the answer that counts as satisfied

    @model_validator(mode="after")
    def _favourable_only_for_yes_no(self) -> Question:
        if self.favourable is not None and self.kind != "yes_no":
            raise ValueError("favourable 只适用于 yes_no 题")
        return self

    @property
    def choices(self) -> tuple[tuple[str, str], ...]:
        """(value, label) of the buttons, in the order shown."""
        if self.kind == "scale5":
            return SCALE5
        if self.kind == "yes_no":
            return YES_NO
        return ((SKIP, "跳过"),)

    def accepts(self, value: str) -> bool:
        return any(v == value for v, _ in self.choices)

    def satisfied(self, value: str) -> bool:
        if self.kind == "scale5":
            return value in _SATISFIED_SCALE
        return self.kind == "yes_no" and value == (self.favourable or "y")


class Poll(_Strict):
    id: str = Field(pattern=_ID)
    title: str = Field(min_length=1)
    intro: str = ""
    period: Literal["monthly"]
    due_time: time = time(10)
    audiences: tuple[Literal["panel", "recent"], ...] = Field(min_length=1)
    recent_days: int = Field(default=30, ge=1, le=366)
    answer_days: int = Field(default=14, ge=1, le=27)  # shorter than a month: rounds never overlap
    questions: tuple[Question, ...]

    @field_validator("audiences")
    @classmethod
    def _distinct(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError("audiences 不能重复")
        return value

    @model_validator(mode="after")
    def _shape(self) -> Poll:
        ids = [q.id for q in self.questions]
        if len(set(ids)) != len(ids):
            raise ValueError(f"题目 id 重复：{ids}")
        rated = [q for q in self.questions if q.kind != "comment"]
        if not 2 <= len(rated) <= 4:
            raise ValueError(f"需要 2–4 道选择题（scale5 / yes_no），现有 {len(rated)} 道")
        comments = [i for i, q in enumerate(self.questions) if q.kind == "comment"]
        if len(comments) > 1 or (comments and comments[0] != len(self.questions) - 1):
            raise ValueError("意见题（comment）最多一道，且必须是最后一题")
        return self

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)

    def after(self, question_id: str) -> Question | None:
        """The question asked after `question_id`; None after the last."""
        ids = [q.id for q in self.questions]
        i = ids.index(question_id) + 1
        return self.questions[i] if i < len(ids) else None


class PollFile(_Strict):
    version: Literal[1]
    sample: bool
    polls: tuple[Poll, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> PollFile:
        ids = [p.id for p in self.polls]
        if len(set(ids)) != len(ids):
            raise ValueError(f"问卷 id 重复：{ids}")
        return self


@dataclass(frozen=True, slots=True)
class PollSet:
    """The validated polls file and where it came from."""

    config: PollFile
    source: str

    @property
    def polls(self) -> tuple[Poll, ...]:
        return self.config.polls

    def get(self, poll_id: str) -> Poll | None:
        return next((p for p in self.config.polls if p.id == poll_id), None)


def load_polls(path: Path | str | None = None) -> PollSet:
    """Read and validate `path`, or the bundled `bot/data/polls.yaml` when None."""
    where, text = read_data_file(path, BUNDLED, lambda where, msg: PollConfigError(where, None, msg))
    return polls_from_text(text, where)


def polls_from_text(text: str, where: str = "<string>") -> PollSet:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PollConfigError(where, None, f"YAML 语法错误：{exc}") from None
    try:
        return PollSet(PollFile.model_validate(doc), where)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc: list[Any] = [s for s in err["loc"] if s != "[key]"]
        if len(loc) >= 2 and loc[0] == "polls" and isinstance(loc[1], int) and isinstance(doc, dict):
            with suppress(KeyError, IndexError, TypeError):  # name the poll by its id, not its position
                loc[1] = str(doc["polls"][loc[1]]["id"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "missing":
            msg = "缺少必填字段"
        elif err["type"] == "extra_forbidden":
            msg = "未知字段（拼写错误？）"
        field_path = ".".join(str(s) for s in loc) or None
        raise PollConfigError(where, field_path, msg) from None


@cache
def default_polls() -> PollSet:
    """The bundled polls, read once per process (the engine and the runner share them)."""
    return load_polls()


# -- rounds ---------------------------------------------------------------------------------------


def period_of(now: datetime) -> str:
    """The period key of `now` in China time: `YYYY-MM`."""
    return f"{now.astimezone(CST):%Y-%m}"


def parse_period(period: str) -> date | None:
    """The first day of `period`, or None when it is not a `YYYY-MM` key."""
    m = _PERIOD.match(period)
    return date(int(m.group(1)), int(m.group(2)), 1) if m else None


def due_at(poll: Poll, period: str, calendar: WorkCalendar) -> datetime:
    """When `period`'s round goes out: the first working day of the month at `due_time`, China time.

    Raises ValueError for a malformed period, or when the calendar does not know that year yet.
    """
    first = parse_period(period)
    if first is None:
        raise ValueError(f"期次格式不正确：{period!r}（应为 YYYY-MM）")
    return datetime.combine(calendar.workday_on_or_after(first), poll.due_time, tzinfo=CST)


def current_round(poll: Poll, now: datetime, calendar: WorkCalendar) -> tuple[str, datetime]:
    """This month's period key and its due time (which may still lie ahead of `now`)."""
    period = period_of(now)
    return period, due_at(poll, period, calendar)


def closes_at(poll: Poll, period: str, calendar: WorkCalendar) -> datetime:
    """After this moment answers to `period` are refused (its buttons are stale)."""
    return due_at(poll, period, calendar) + timedelta(days=poll.answer_days)


def answer_payload(poll_id: str, period: str, question_id: str, value: str) -> str:
    return f"{PREFIX}:{poll_id}:{period}:{question_id}:{value}"


def item_key(poll_id: str, period: str, person_id: str) -> str:
    return f"{PREFIX}:{poll_id}:{period}:{person_id}"


def round_group(poll_id: str, period: str) -> str:
    return f"{PREFIX}:{poll_id}:{period}"


@dataclass(frozen=True, slots=True)
class Prompt:
    """One question as sent: its text (numbered) and its buttons (label, payload)."""

    text: str
    buttons: tuple[tuple[str, str], ...]


def prompt(poll: Poll, period: str, question: Question) -> Prompt:
    """The question as the chat shows it; choice questions are numbered 1/n … n/n."""
    rated = [q.id for q in poll.questions if q.kind != "comment"]
    head = f"（{rated.index(question.id) + 1}/{len(rated)}）" if question.id in rated else ""
    buttons = tuple(
        (label, answer_payload(poll.id, period, question.id, value)) for value, label in question.choices
    )
    return Prompt(head + question.text, buttons)


UNSUBSCRIBE_HINT = "不想再收到问卷？回复“退订”即可。"


def build_items(poll: Poll, period: str, due: datetime, people: Iterable[str]) -> list[Item]:
    """One poll item per person (in the order given, duplicates once): the intro and the first
    question with its buttons, and how to unsubscribe."""
    first = prompt(poll, period, poll.questions[0])
    intro = f"【{poll.title}】\n{poll.intro}\n\n" if poll.intro else f"【{poll.title}】\n"
    text = f"{intro}{first.text}\n\n{UNSUBSCRIBE_HINT}"
    seen: set[str] = set()
    items: list[Item] = []
    for person in people:
        if person in seen:
            continue
        seen.add(person)
        items.append(
            Item(
                kind=Kind.poll,
                target=Target("person", person),
                due_at=due,
                text=text,
                key=item_key(poll.id, period, person),
                group=round_group(poll.id, period),
                buttons=first.buttons,
                payload={"poll": poll.id, "period": period},
            )
        )
    return items


# -- summaries ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QuestionSummary:
    id: str
    text: str
    kind: str
    n: int  # people who answered it (a comment skipped is not an answer)
    counts: tuple[tuple[str, int], ...]  # (label, count) in the order the buttons show
    satisfied: float | None  # share of satisfied answers; None for comments or when n == 0
    comments: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PollSummary:
    poll_id: str
    title: str
    period: str
    invited: int | None  # people the round was scheduled for; None if it never was
    respondents: int  # people who answered at least one question
    questions: tuple[QuestionSummary, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        return {
            "poll": self.poll_id,
            "title": self.title,
            "period": self.period,
            "invited": self.invited,
            "respondents": self.respondents,
            "questions": [
                {
                    "id": q.id,
                    "text": q.text,
                    "kind": q.kind,
                    "n": q.n,
                    "counts": dict(q.counts),
                    "satisfied": None if q.satisfied is None else round(q.satisfied, 4),
                    **({"comments": list(q.comments)} if q.kind == "comment" else {}),
                }
                for q in self.questions
            ],
        }


@dataclass(frozen=True, slots=True)
class Answer:
    """One stored answer (the last one a person gave to a question)."""

    person_id: str
    question_id: str
    value: str
    comment: str | None = None


def summarise(poll: Poll, period: str, answers: Sequence[Answer], invited: int | None = None) -> PollSummary:
    """Per question: how many chose each answer, n, and the share satisfied (5/4 on the scale,
    the favourable answer of a yes/no). Answers to questions no longer in the poll are ignored."""
    per: list[QuestionSummary] = []
    for q in poll.questions:
        if q.kind == "comment":
            notes = tuple(a.comment for a in answers if a.question_id == q.id and a.comment)
            per.append(QuestionSummary(q.id, q.text, q.kind, len(notes), (), None, notes))
            continue
        mine = [a for a in answers if a.question_id == q.id and q.accepts(a.value)]
        counts = tuple((label, sum(a.value == value for a in mine)) for value, label in q.choices)
        n = len(mine)
        share = sum(q.satisfied(a.value) for a in mine) / n if n else None
        per.append(QuestionSummary(q.id, q.text, q.kind, n, counts, share))
    known = {q.id for q in poll.questions}
    people = {a.person_id for a in answers if a.question_id in known}
    return PollSummary(poll.id, poll.title, period, invited, len(people), tuple(per))
