"""CSV and XLSX exports re-read the way Excel/WPS would: bytes, headers, types and hidden contacts."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from openpyxl import load_workbook

from bot.indicators import compute, default_config
from bot.reports.export import ORDER_COLUMNS, orders_csv, orders_xlsx
from bot.workorder import WorkOrder

CST = timezone(timedelta(hours=8))

MARCH = (datetime(2026, 3, 1, tzinfo=CST), datetime(2026, 4, 1, tzinfo=CST))
NAMES = {"urban": "二七区城市管理局", "huaiheroad": "淮河路街道"}


def _csv_rows(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM that makes Excel read UTF-8
    text = data.decode("utf-8-sig")
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_csv_has_chinese_headers_masked_phones_and_hidden_confidential_contacts(
    seeded: Any, by_role: Callable[[str], WorkOrder]
) -> None:
    orders = [by_role(r) for r in ("happy", "secret", "formula")]
    rows = _csv_rows(orders_csv(orders, names=NAMES))
    assert list(rows[0]) == [h for h, _ in ORDER_COLUMNS]
    happy, secret, formula = rows
    assert happy["联系电话"] == "138****5678" and happy["承办单位"] == "二七区城市管理局"
    assert happy["提交时间"] == "2026-03-02 09:00:00" and happy["评价"] == "满意"
    assert secret["联系电话"] == "保密" and "13900001111" not in str(rows)
    assert formula["诉求内容"].startswith("'=HYPERLINK")  # shown as text, never run as a formula
    shown = _csv_rows(orders_csv(orders, names=NAMES, show_phones=True))
    assert shown[0]["联系电话"] == "13812345678" and shown[1]["联系电话"] == "保密"


def test_xlsx_has_real_dates_text_formulas_and_an_indicator_sheet(
    seeded: Any, by_role: Callable[[str], WorkOrder]
) -> None:
    orders = [by_role(r) for r in ("happy", "secret", "formula", "working")]
    report = compute(orders, seeded.events, period=MARCH, config=default_config())
    wb = load_workbook(io.BytesIO(orders_xlsx(orders, names=NAMES, report=report)))
    assert wb.sheetnames == ["工单", "指标"]
    ws = wb["工单"]
    assert [c.value for c in ws[1]] == [h for h, _ in ORDER_COLUMNS]
    created = ws.cell(2, 2).value
    assert isinstance(created, datetime) and created == datetime(2026, 3, 2, 9, 0)  # naive China time
    assert ws.cell(2, 2).is_date and isinstance(ws.cell(2, 13).value, datetime)  # the deadline too
    assert ws.cell(2, 11).value == "138****5678" and ws.cell(3, 11).value == "保密"
    content = ws.cell(4, 8)
    assert content.data_type == "s" and content.value.startswith("=HYPERLINK")
    assert ws.max_row == 5
    ind = wb["指标"]
    headers = [c.value for c in ind[1]]
    assert headers[:4] == ["承办单位", "工单量", "办结量", "评价量"] and "满意率" in headers
    total = [c for c in ind[ind.max_row]]
    assert total[0].value == "全区合计" and total[1].value == 4
    rate = total[headers.index("满意率")]  # 1 of the 2 rated orders
    assert rate.value == 0.5 and rate.number_format == "0.0%"


def test_xlsx_drops_control_characters_a_user_typed(by_role: Callable[[str], WorkOrder]) -> None:
    from dataclasses import replace

    typed = replace(by_role("happy"), content="门口\x07占道\x1b经营", location="大学路\x00 88 号")
    ws = load_workbook(io.BytesIO(orders_xlsx([typed])))["工单"]
    assert ws.cell(2, 8).value == "门口占道经营" and ws.cell(2, 9).value == "大学路 88 号"
