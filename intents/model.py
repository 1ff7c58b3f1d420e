"""The vocabulary of intent classification: what a message is about and what it mentions.

A leaf of `intents`: only `knowledge.types` is imported, so the bot, the CLI and the tests can
share these types without loading rules or a knowledge base.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

from knowledge.types import Match


class Intent(StrEnum):
    """What the user wants; each value routes to one handler in the bot."""

    CONSULT_POLICY = "consult_policy"  # a question the knowledge base answers (policy or FAQ)
    SERVICE_GUIDE = "service_guide"  # how to do a government procedure (service item)
    PETITION = "petition"  # the user raises their own problem: becomes a work order
    MY_ORDERS = "my_orders"  # status / progress of the user's work orders
    RATING = "rating"  # rate how a handled order was dealt with (好差评)
    TALK_TO_HUMAN = "talk_to_human"
    INSPECTION_CHECKIN = "inspection_checkin"  # 政企码 / 扫码入企: who inspected the enterprise
    PROJECT_BUTLER = "project_butler"  # 项目管家: approval coordination for a project
    GREETING = "greeting"
    HELP = "help"  # the menu: what the bot can do
    OUT_OF_SCOPE = "out_of_scope"  # emergencies, litigation, 信访: refer elsewhere, never file
    UNKNOWN = "unknown"


class PetitionType(StrEnum):
    """The 12345 work-order types; each has its own time limit."""

    INQUIRY = "inquiry"  # 咨询
    HELP = "help"  # 求助
    COMPLAINT = "complaint"  # 投诉
    REPORT = "report"  # 举报
    SUGGESTION = "suggestion"  # 建议


class OutOfScopeReason(StrEnum):
    """Why a message must be referred elsewhere instead of becoming a work order."""

    EMERGENCY = "emergency"  # 110 / 119 / 120 / 122
    LITIGATION = "litigation"  # courts and arbitration decide, not the hotline
    XINFANG = "xinfang"  # 信访 has its own statutory channel


EMERGENCY_NUMBERS: dict[str, str] = {
    "110": "报警（公安）",
    "119": "火警",
    "120": "医疗急救",
    "122": "交通事故报警",
}


@dataclass(frozen=True, slots=True)
class Slots:
    """Facts mentioned in a message, normalised so that handlers can use them directly."""

    order_number: str | None = None  # "EQ-20261126-0007"
    phone: str | None = None  # "13812345678" or "0371-12345678"
    credit_code: str | None = None  # a 统一社会信用代码 whose check digit validates
    invalid_credit_code: str | None = None  # an 18-char candidate that fails the check
    enterprise_name: str | None = None
    dates: tuple[dt.date, ...] = ()
    places: tuple[str, ...] = ()

    def is_empty(self) -> bool:
        return self == Slots()


@dataclass(frozen=True, slots=True)
class IntentResult:
    """The classifier's decision plus everything a handler needs to act on it."""

    intent: Intent
    confidence: float  # in [0, 1]
    reason: str  # short English trace of the deciding rule or KB grade (shown by `kb ask`)
    slots: Slots = field(default_factory=Slots)
    petition_type: PetitionType | None = None  # None for petitions: ask the user which type
    out_of_scope_reason: OutOfScopeReason | None = None
    emergency_number: str | None = None  # set only for OutOfScopeReason.EMERGENCY
    match: Match | None = None  # the knowledge-base answer when the KB was consulted
