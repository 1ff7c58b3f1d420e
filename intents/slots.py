"""Slot extraction: the facts a message mentions (order number, phone, credit code, company
name, dates, places), normalised so that handlers can use them without parsing again.

Pure: relative dates are resolved against an injected `today`, never the system clock, so the
same message always gives the same slots in tests and in replays of a conversation.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterator
from functools import cache
from importlib import resources

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from intents.credit_code import is_valid_credit_code, looks_like_credit_code
from intents.model import Slots
from intents.rules import RuleFileError
from knowledge.yamlio import parse_yaml

BUNDLED_PLACES = "intents/data/places.yaml"

_ORDER = re.compile(r"(?<![A-Za-z0-9])EQ[-\s]?(\d{8})[-\s]?(\d{4})(?!\d)", re.IGNORECASE)
_MOBILE = re.compile(r"(?<![\dA-Za-z])(?:\+?86[-\s]?)?(1[3-9]\d)[-\s]?(\d{4})[-\s]?(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<![\dA-Za-z])\(?(0371)\)?[-\s]?(\d{4})[-\s]?(\d{4})(?!\d)")
_LANDLINE_OTHER = re.compile(r"(?<![\dA-Za-z])(0[1-9]\d{1,2})-(\d{7,8})(?!\d)")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)  # GB 11643 resident ID
_TOKEN18 = re.compile(r"(?<![0-9A-Za-z])[0-9A-Za-z]{18}(?![0-9A-Za-z])")

_NAME_CHAR = re.compile(r"[\u4e00-\u9fffA-Za-z0-9()·]")
_NAME_SUFFIX = re.compile(
    "股份有限公司|有限责任公司|有限公司|分公司|公司|集团|专业合作社|合作社|个体工商户|个体户|商行|门市部|经营部"
    "|工作室|事务所|加工厂|厂|超市|店"
)
_SHORT_SUFFIXES = frozenset({"公司", "集团", "厂", "超市", "店"})  # need a longer body to be a name
_NAME_ANCHOR = re.compile("河南省|河南|郑州市|郑州|二七区")
# Words after which a name cannot continue: pronouns, verbs and particles that precede a name.
_BOUNDARIES = (
    "我是|我们|我司|咱们|你们|他们|本公司|这家|那家|一家|这个|那个|这是|隔壁|楼下|对面|附近|关于|对于|位于"
    "|投诉|举报|反映|请问|你好|您好|名叫|名称|叫做|有限公司|我|你|他|是|被|在|给|向|把|找|了|的|叫|说|请|跟|与"
)
_NAME_CUT = re.compile(_BOUNDARIES)
_PLACE_CUT = re.compile(_BOUNDARIES + "|住|区|市|省|县|街道|镇|乡|号|社区")
_ADDRESS = re.compile(r"([\u4e00-\u9fff]{1,10}?(?:大道|大街|路|街|巷))(\d{1,5})号")

_CN_WEEKDAY = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "七": 6}
_RELATIVE_DAY = {
    "大前天": -3,
    "前天": -2,
    "昨天": -1,
    "昨日": -1,
    "今天": 0,
    "今日": 0,
    "明天": 1,
    "明日": 1,
    "后天": 2,
}
_WEEK_SHIFT = {"上上": -2, "上": -1, "本": 0, "这": 0, "下": 1, "": 0}  # bare 周三: this week
_MONTH_SHIFT = {"上": -1, "本": 0, "这": 0, "下": 1}
_FULL_DATE = re.compile(r"(?<!\d)(\d{4})\s*[年\-/.]\s*(\d{1,2})\s*[月\-/.]\s*(\d{1,2})(?!\d)\s*[日号]?")
_MONTH_DAY = re.compile(r"(?<![\d.])(\d{1,2})\s*月\s*(\d{1,2})(?!\d)\s*[日号]?")
_DOTTED = re.compile(
    r"(?<![\d.])(\d{1,2})\.(\d{1,2})(?![\d.])(?!\s*(?:元|万|千|亿|%|米|吨|块|公斤|斤|个|岁|平|倍))"
)
_WEEKDAY = re.compile(r"(上上|上|本|这|下)个?(?:周|星期|礼拜)([一二三四五六日天七1-7])")
# A bare 周三 means this week's; not 一周三次 / 每周三 (a frequency, not a day).
_BARE_WEEKDAY = re.compile(
    r"(?<![一二两三几每半多个上本这下\d])()(?:周|星期|礼拜)([一二三四五六日天])(?![次回个趟])"
)
_MONTH_REL_DAY = re.compile(r"(上|本|这|下)个?月(\d{1,2})[日号]")
_MONTH_REL = re.compile(r"(上|本|这|下)个?月(?!份?\d)")
_DAY_REL = re.compile("|".join(sorted(_RELATIVE_DAY, key=len, reverse=True)))


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def mask_phone(phone: str) -> str:
    """Hide the middle digits for display and logs: 13812345678 → 138****5678."""
    digits = re.sub(r"\D", "", phone)
    if len(digits) == 11 and digits.startswith("1"):
        return f"{digits[:3]}****{digits[-4:]}"
    if "-" in phone:
        area, _, local = phone.partition("-")
        return f"{area}-{'*' * max(len(local) - 4, 0)}{local[-4:]}"
    return f"{'*' * max(len(digits) - 4, 0)}{digits[-4:]}"


def _order_number(text: str) -> str | None:
    for m in _ORDER.finditer(text):
        day, seq = m.group(1), m.group(2)
        if _date_or_none(int(day[:4]), int(day[4:6]), int(day[6:])) is not None:
            return f"EQ-{day}-{seq}"
    return None


def _phone(text: str) -> str | None:
    found: list[tuple[int, str]] = []
    for m in _MOBILE.finditer(text):
        found.append((m.start(), "".join(m.groups())))
    for m in _LANDLINE.finditer(text):
        found.append((m.start(), f"{m.group(1)}-{m.group(2)}{m.group(3)}"))
    for m in _LANDLINE_OTHER.finditer(text):
        found.append((m.start(), f"{m.group(1)}-{m.group(2)}"))
    return min(found)[1] if found else None


def _is_id_card(token: str, *, checked: bool) -> bool:
    """A resident ID number (GB 11643): never echoed back as a "wrong credit code" (privacy).

    With `checked`, the check digit must fit; without, a plausible birth date is enough, since
    a mistyped ID number is still not a credit code.
    """
    if not (token[:17].isdigit() and (token[17].isdigit() or token[17] in "Xx")):
        return False
    if checked:
        total = sum(int(c) * w for c, w in zip(token[:17], _ID_WEIGHTS, strict=True))
        return "10X98765432"[total % 11] == token[17].upper()
    year = int(token[6:10])
    return 1900 <= year <= 2099 and _date_or_none(year, int(token[10:12]), int(token[12:14])) is not None


def _credit_codes(text: str) -> tuple[str | None, str | None]:
    valid: str | None = None
    invalid: str | None = None
    for m in _TOKEN18.finditer(text):
        token = m.group(0).upper()
        if _is_id_card(token, checked=True):
            continue
        if is_valid_credit_code(token):
            valid = valid or token
        elif looks_like_credit_code(token) and not _is_id_card(token, checked=False):
            invalid = invalid or token
    return valid, invalid


def _after_last_cut(body: str, cut: re.Pattern[str]) -> str:
    ends = [m.end() for m in cut.finditer(body)]
    return body[ends[-1] :] if ends else body


def _enterprise_name(text: str) -> str | None:
    best = ""
    for m in _NAME_SUFFIX.finditer(text):
        start = m.start()
        while start > 0 and m.start() - start < 30 and _NAME_CHAR.match(text[start - 1]):
            start -= 1
        body = _after_last_cut(text[start : m.start()], _NAME_CUT)
        anchor = _NAME_ANCHOR.search(body)
        if anchor is not None:
            body = body[anchor.start() :]
        need = 3 if m.group(0) in _SHORT_SUFFIXES else 2
        if len(body) >= need and re.search(r"[\u4e00-\u9fffA-Za-z]", body):
            name = body + m.group(0)
            if len(name) > len(best):
                best = name
    return best or None


class _Generic(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    suffix: str = Field(min_length=1)
    min: int = Field(ge=1)
    max: int = Field(ge=1, le=12)


class _PlacesFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    version: int
    known: tuple[str, ...] = Field(min_length=1)
    nearby: tuple[str, ...] = ()
    generic: tuple[_Generic, ...] = ()
    stopwords: tuple[str, ...] = ()


@cache
def _places_file() -> _PlacesFile:
    text = resources.files("intents").joinpath("data", "places.yaml").read_text(encoding="utf-8")
    try:
        return _PlacesFile.model_validate(parse_yaml(text))
    except (yaml.YAMLError, ValidationError) as e:
        raise RuleFileError(BUNDLED_PLACES, str(e)) from e


@cache
def _known_places() -> tuple[str, ...]:
    """Known and nearby place names, longest first (so 二七广场 wins over 二七)."""
    spec = _places_file()
    return tuple(sorted((*spec.known, *spec.nearby), key=len, reverse=True))


def _find_all(needle: str, text: str) -> Iterator[int]:
    """Start of every non-overlapping occurrence of `needle` in `text`."""
    at = text.find(needle) if needle else -1
    while at != -1:
        yield at
        at = text.find(needle, at + len(needle))


def _place_spans(text: str) -> Iterator[tuple[int, int, str]]:
    """Candidate places as (start, end, name): known names first, then generic patterns."""
    spec = _places_file()
    for name in _known_places():
        for at in _find_all(name, text):
            yield at, at + len(name), name
    for g in spec.generic:
        for at in _find_all(g.suffix, text):
            start = at
            while start > 0 and at - start < g.max and "\u4e00" <= text[start - 1] <= "\u9fff":
                start -= 1
            body = _after_last_cut(text[start:at], _PLACE_CUT)
            if len(body) >= g.min and body + g.suffix not in spec.stopwords:
                yield at - len(body), at + len(g.suffix), body + g.suffix
    for m in _ADDRESS.finditer(text):
        road = _after_last_cut(m.group(1), _PLACE_CUT)
        if len(road) >= 2:
            yield m.end() - len(road) - len(m.group(2)) - 1, m.end(), f"{road}{m.group(2)}号"


def _places(text: str) -> tuple[str, ...]:
    taken: list[tuple[int, int, str]] = []
    for start, end, name in _place_spans(text):
        if all(end <= s or start >= e for s, e, _ in taken):
            taken.append((start, end, name))
    return tuple(dict.fromkeys(name for _, _, name in sorted(taken)))


def _date_or_none(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _shift_month(day: dt.date, months: int) -> tuple[int, int]:
    index = day.year * 12 + day.month - 1 + months
    return index // 12, index % 12 + 1


def _date_spans(text: str, today: dt.date | None) -> Iterator[tuple[int, int, dt.date | None]]:
    """Dates as (start, end, date); `date` is None for a span that is a date but invalid."""
    for m in _FULL_DATE.finditer(text):
        yield m.start(), m.end(), _date_or_none(int(m[1]), int(m[2]), int(m[3]))
    if today is None:  # everything below needs the current year or day
        return
    for pattern in (_MONTH_DAY, _DOTTED):
        for m in pattern.finditer(text):
            yield m.start(), m.end(), _date_or_none(today.year, int(m[1]), int(m[2]))
    for m in (*_WEEKDAY.finditer(text), *_BARE_WEEKDAY.finditer(text)):
        weekday = int(m[2]) - 1 if m[2].isdigit() else _CN_WEEKDAY[m[2]]
        monday = today - dt.timedelta(days=today.weekday())
        yield m.start(), m.end(), monday + dt.timedelta(weeks=_WEEK_SHIFT[m[1]], days=weekday)
    for m in _MONTH_REL_DAY.finditer(text):
        year, month = _shift_month(today, _MONTH_SHIFT[m[1]])
        yield m.start(), m.end(), _date_or_none(year, month, int(m[2]))
    for m in _MONTH_REL.finditer(text):  # a whole month: its first day
        year, month = _shift_month(today, _MONTH_SHIFT[m[1]])
        yield m.start(), m.end(), dt.date(year, month, 1)
    for m in _DAY_REL.finditer(text):
        yield m.start(), m.end(), today + dt.timedelta(days=_RELATIVE_DAY[m[0]])


def _dates(text: str, today: dt.date | None) -> tuple[dt.date, ...]:
    taken: list[tuple[int, int, dt.date | None]] = []
    for start, end, day in _date_spans(text, today):
        if all(end <= s or start >= e for s, e, _ in taken):
            taken.append((start, end, day))
    ordered = (day for _, _, day in sorted(taken, key=lambda t: t[0]) if day is not None)
    return tuple(dict.fromkeys(ordered))


def extract_slots(text: str, *, today: dt.date | None = None) -> Slots:
    """Every slot found in `text`. Without `today`, only dates that carry a year are returned:
    relative and year-less dates cannot be resolved without a reference day."""
    plain = _nfkc(text)
    credit_code, invalid_credit_code = _credit_codes(plain)
    return Slots(
        order_number=_order_number(plain),
        phone=_phone(plain),
        credit_code=credit_code,
        invalid_credit_code=invalid_credit_code,
        enterprise_name=_enterprise_name(plain),
        dates=_dates(plain, today),
        places=_places(plain),
    )
