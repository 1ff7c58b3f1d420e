"""The knowledge base's entry kinds, as validated models.

Every YAML file in `knowledge/data/` and every imported row becomes one of these models; unknown
fields are rejected so that a typo in a field name is an error, not silently lost content.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

EntryId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,79}$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]

SERVICE_MODES = ("免证可办", "跨省通办", "同城通办", "容缺受理", "告知承诺", "全程网办")
ServiceMode = Literal["免证可办", "跨省通办", "同城通办", "容缺受理", "告知承诺", "全程网办"]
ENTERPRISE_SCALES = ("大型", "中型", "小型", "微型", "个体工商户")

# Landline with or without area code, mobile, or a short service number such as 12345 / 12366.
_PHONE = re.compile(r"^(?:0\d{2,3}-?\d{7,8}|[2-9]\d{6,7}|1[3-9]\d{9}|1\d{4}|\d{5,6})(?:[,，/ ]+.*)?$")


class _Strict(BaseModel):
    # YAML reads 12345 as a number; text fields take it as the string the author typed.
    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, coerce_numbers_to_str=True
    )


class Source(_Strict):
    """Where an entry's content comes from: a published document or web page."""

    title: Text
    url: str | None = None
    issuer: str | None = None
    doc_number: str | None = None  # 文号, e.g. 财政部 税务总局公告2023年第19号
    published: dt.date | None = None

    @field_validator("url")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^https?://\S+$", v):
            raise ValueError("must be an http(s) URL")
        return v


class _EntryBase(_Strict):
    id: EntryId
    category: str = ""  # filled from the file's `category` when omitted
    paraphrases: tuple[Text, ...] = ()  # how users actually type it: colloquial, short, typos
    keywords: tuple[Text, ...] = ()
    department: str | None = None  # responsible unit
    phone: str | None = None
    source: Source | None = None
    sample: bool = False  # True: written for illustration, not taken from a published document
    links: tuple[EntryId, ...] = ()

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str | None) -> str | None:
        if v is not None and not _PHONE.match(v):
            raise ValueError(f"not a phone number: {v!r}")
        return v

    @model_validator(mode="after")
    def _sourced_or_sample(self) -> _EntryBase:
        if not self.sample and self.source is None:
            raise ValueError("an entry that is not marked `sample: true` needs a `source`")
        return self

    @property
    def title(self) -> str:
        raise NotImplementedError

    def phrasings(self) -> tuple[str, ...]:
        """Every text the matcher indexes for this entry, the title first."""
        return (self.title, *self.paraphrases)


class Eligibility(_Strict):
    """Who a policy is for: structured tags for matching enterprises, plus the full text."""

    industries: tuple[Text, ...] = ()
    scales: tuple[Text, ...] = ()
    enterprise_types: tuple[Text, ...] = ()  # e.g. 高新技术企业, 科技型中小企业, 个体工商户
    locations: tuple[Text, ...] = ()  # e.g. 二七区, 郑州市, 河南省
    text: str = ""


class Period(_Strict):
    start: dt.date | None = Field(default=None, alias="from")
    end: dt.date | None = Field(default=None, alias="to")

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.start and self.end and self.end < self.start:
            raise ValueError("`to` is before `from`")
        return self


class Policy(_EntryBase):
    """惠企政策: a subsidy, tax relief, financing or talent policy."""

    kind: Literal["policy"] = "policy"
    name: Text = Field(alias="title")
    issuer: str | None = None
    doc_number: str | None = None
    effective: Period | None = None
    eligibility: Eligibility = Eligibility()
    benefits: Text
    how_to_apply: str = ""
    materials: tuple[Text, ...] = ()
    source_url: str | None = None

    @property
    def title(self) -> str:
        return self.name


class ServiceItem(_EntryBase):
    """政务服务事项: a government procedure with its modes, time limits and materials."""

    kind: Literal["service_item"] = "service_item"
    name: Text
    modes: tuple[ServiceMode, ...] = ()
    legal_limit_days: int | None = Field(default=None, ge=0, le=365)  # 法定时限, working days
    promised_limit_days: int | None = Field(default=None, ge=0, le=365)  # 承诺时限, working days
    materials: tuple[Text, ...] = ()
    fees: str = "不收费"
    where: str = ""
    how: str = ""
    summary: str = ""

    @model_validator(mode="after")
    def _promise_within_law(self) -> ServiceItem:
        if (
            self.legal_limit_days is not None
            and self.promised_limit_days is not None
            and self.promised_limit_days > self.legal_limit_days
        ):
            raise ValueError("promised_limit_days exceeds legal_limit_days")
        return self

    @property
    def title(self) -> str:
        return self.name


class Faq(_EntryBase):
    """A question users ask, with the answer and links to policies and service items."""

    kind: Literal["faq"] = "faq"
    question: Text
    answer: Text

    @property
    def title(self) -> str:
        return self.question


Entry = Annotated[Policy | ServiceItem | Faq, Field(discriminator="kind")]
ENTRY_KINDS = ("faq", "policy", "service_item")


class EntryFile(_Strict):
    """One YAML file of entries under a shared category."""

    category: Text
    entries: tuple[Entry, ...] = Field(min_length=1)


class SynonymFile(_Strict):
    """口语 → 术语: each canonical term with the colloquial words users type for it."""

    synonyms: dict[Text, tuple[Text, ...]]
