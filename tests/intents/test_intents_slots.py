"""Slot extraction: each slot type with valid and invalid inputs."""

from __future__ import annotations

import datetime as dt

import pytest

from intents.credit_code import credit_code_check_char
from intents.slots import extract_slots, mask_phone

TODAY = dt.date(2026, 11, 26)  # a Thursday


# ---- order number -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "EQ-20261126-0007",
        "我的工单eq-20261126-0007办到哪了",
        "查一下 eq202611260007",
        "工单号：ＥＱ－２０２６１１２６－０００７",  # full-width, as some phone keyboards type it
        "Eq 20261126 0007 进度",
    ],
)
def test_order_number_is_normalised(text: str) -> None:
    assert extract_slots(text).order_number == "EQ-20261126-0007"


@pytest.mark.parametrize(
    "text",
    [
        "EQ-2026112-0007",  # seven-digit date
        "EQ-20261399-0001",  # month 13
        "XEQ202611260007",  # glued to another word
        "EQ-20261126-00071",  # five-digit sequence
        "我的工单号忘了",
    ],
)
def test_no_order_number(text: str) -> None:
    assert extract_slots(text).order_number is None


# ---- phone --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("电话13812345678", "13812345678"),
        ("联系我 138 1234 5678", "13812345678"),
        ("手机号+86 139-1234-5678", "13912345678"),
        ("座机0371-67891234", "0371-67891234"),
        ("座机０３７１６７８９１２３４", "0371-67891234"),
        ("打(0371)6789 1234找我", "0371-67891234"),
        ("先打0371-67891234，不行再打13812345678", "0371-67891234"),  # the first one mentioned
    ],
)
def test_phone(text: str, phone: str) -> None:
    assert extract_slots(text).phone == phone


@pytest.mark.parametrize(
    "text",
    [
        "12812345678",  # 12x is not a mobile prefix
        "1381234567",  # ten digits
        "138123456789",  # twelve digits
        "订单202613812345678",  # inside a longer number
        "信用代码914403001922038216",  # digits of a credit code are not a phone
    ],
)
def test_no_phone(text: str) -> None:
    assert extract_slots(text).phone is None


@pytest.mark.parametrize(
    ("phone", "masked"),
    [("13812345678", "138****5678"), ("0371-67891234", "0371-****1234"), ("138 1234 5678", "138****5678")],
)
def test_mask_phone(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


# ---- credit code --------------------------------------------------------------------------------


def test_valid_credit_code_in_text() -> None:
    slots = extract_slots("我们的统一社会信用代码是91350100M000100Y43，帮忙查一下")
    assert slots.credit_code == "91350100M000100Y43"
    assert slots.invalid_credit_code is None


def test_generated_credit_code_typed_lower_case() -> None:
    body = "91410103MA9F12345"
    code = body + credit_code_check_char(body)
    assert extract_slots(f"代码{code.lower()}").credit_code == code


def test_mistyped_credit_code_is_reported_as_invalid() -> None:
    slots = extract_slots("信用代码91350100M000100Y44")  # last character flipped
    assert slots.credit_code is None
    assert slots.invalid_credit_code == "91350100M000100Y44"


@pytest.mark.parametrize(
    "text",
    [
        "身份证11010519491231002X",  # a valid ID number
        "身份证号110105194912310029",  # a mistyped ID number: still not a credit code
        "单号ABCDEFGHJKLMNPQRTU",  # 18 characters without a division code
        "代码91350100M000100Y4",  # 17 characters
    ],
)
def test_other_tokens_are_not_credit_codes(text: str) -> None:
    slots = extract_slots(text)
    assert slots.credit_code is None
    assert slots.invalid_credit_code is None


# ---- enterprise name ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("我是郑州市二七区某某餐饮有限公司的负责人", "郑州市二七区某某餐饮有限公司"),
        ("我们郑州市二七区某某餐饮有限公司被罚了", "郑州市二七区某某餐饮有限公司"),
        ("昨天有人来我们郑州某某科技有限公司检查", "郑州某某科技有限公司"),
        ("河南某某建设集团有限公司的工程款一直拖欠", "河南某某建设集团有限公司"),
        ("老王烧烤店门口占道经营", "老王烧烤店"),
        ("我司郑州二七某某商贸有限责任公司想申请补贴", "郑州二七某某商贸有限责任公司"),
        ("举报二七区某某农机专业合作社", "二七区某某农机专业合作社"),
        ("郑州甲有限公司欠郑州乙商贸有限公司的钱", "郑州乙商贸有限公司"),  # the longest name
    ],
)
def test_enterprise_name(text: str, name: str) -> None:
    assert extract_slots(text).enterprise_name == name


@pytest.mark.parametrize(
    "text",
    ["我们公司被乱罚款了", "我们是个体户", "隔壁那家饭店油烟太大", "开了一家小吃店", "我们厂停电了"],
)
def test_no_enterprise_name(text: str) -> None:
    assert extract_slots(text).enterprise_name is None


# ---- dates --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "dates"),
    [
        ("2026年11月26日下午来的", (dt.date(2026, 11, 26),)),
        ("2026-11-26和2026/11/27", (dt.date(2026, 11, 26), dt.date(2026, 11, 27))),
        ("11月26日和11.20都来过", (dt.date(2026, 11, 26), dt.date(2026, 11, 20))),
        ("11月3号", (dt.date(2026, 11, 3),)),
        ("昨天", (dt.date(2026, 11, 25),)),
        ("前天下午", (dt.date(2026, 11, 24),)),
        ("大前天", (dt.date(2026, 11, 23),)),
        ("明天能办完吗", (dt.date(2026, 11, 27),)),
        ("上周五来检查的", (dt.date(2026, 11, 20),)),
        ("上星期一", (dt.date(2026, 11, 16),)),
        ("本周三", (dt.date(2026, 11, 25),)),
        ("这周日", (dt.date(2026, 11, 29),)),
        ("下周二", (dt.date(2026, 12, 1),)),
        ("周一来过", (dt.date(2026, 11, 23),)),
        ("上个月15号来过", (dt.date(2026, 10, 15),)),
        ("上个月", (dt.date(2026, 10, 1),)),  # a whole month: its first day
        ("今天和昨天", (dt.date(2026, 11, 26), dt.date(2026, 11, 25))),
    ],
)
def test_dates(text: str, dates: tuple[dt.date, ...]) -> None:
    assert extract_slots(text, today=TODAY).dates == dates


def test_relative_dates_follow_the_injected_day() -> None:
    new_year = dt.date(2027, 1, 1)  # a Friday
    slots = extract_slots("昨天和上个月", today=new_year)
    assert slots.dates == (dt.date(2026, 12, 31), dt.date(2026, 12, 1))


@pytest.mark.parametrize(
    "text",
    ["一周三次检查", "每周三都来", "罚款11.26元", "2026年2月30日", "13月5日", "补贴3.5万"],
)
def test_not_dates(text: str) -> None:
    assert extract_slots(text, today=TODAY).dates == ()


def test_without_today_only_full_dates() -> None:
    slots = extract_slots("2026年11月26日、11月27日、昨天")
    assert slots.dates == (dt.date(2026, 11, 26),)


# ---- places -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "places"),
    [
        ("公司在大学路街道，地址是航海中路56号", ("大学路街道", "航海中路56号")),
        ("我在马寨镇某某村", ("马寨镇", "某某村")),
        ("公司位于嵩山南路108号幸福小区", ("嵩山南路108号", "幸福小区")),
        ("京广路街道和淮河路街道", ("京广路街道", "淮河路街道")),
        ("二七区长江路街道某某社区", ("二七区", "长江路街道", "某某社区")),
        ("樱桃沟管理区的民宿", ("樱桃沟管理区",)),
        ("侯寨街道那边", ("侯寨街道",)),
        ("我们在棉纺路街道", ("棉纺路街道",)),
    ],
)
def test_places(text: str, places: tuple[str, ...]) -> None:
    assert extract_slots(text).places == places


@pytest.mark.parametrize("text", ["这个小区太吵", "老旧小区改造", "农村电商补贴", "我们小区门口"])
def test_not_places(text: str) -> None:
    assert extract_slots(text).places == ()


def test_empty_message_has_no_slots() -> None:
    assert extract_slots("", today=TODAY).is_empty()
