"""The reports page, its downloads and the staff inbox, through HTTP."""

from __future__ import annotations

import csv
import io

import openpyxl

from bot.calendar_config import load_calendar
from bot.schedule.model import Item, Kind, Target
from bot.schedule.runner import Scheduler
from bot.staff.accounts import Role
from bot.workorder import Action
from tests.staff.conftest import Console


async def worked_orders(console: Console) -> None:
    """Three orders this month: one to 城管 closed and rated, one to 住建 in progress, one new."""
    done = await console.order("urban", content="门口路灯不亮，晚上很黑")
    for action, params in [
        (Action.acknowledge, {}),
        (Action.resolve, {"result": "已更换灯泡"}),
        (Action.start_visit, {}),
        (Action.rate, {"rating": "satisfied"}),
    ]:
        await console.tickets.act(done.number, action, by="x", at=console.clock(), **params)
    busy = await console.order("housing", content="小区楼道堆放杂物")
    await console.tickets.act(busy.number, Action.acknowledge, by="x", at=console.clock())
    await console.order(None, content="路灯坏了好几天")


async def test_leaders_see_the_district_report_and_download_it(console: Console) -> None:
    await worked_orders(console)
    await console.account("leader1", Role.leader)
    await console.login("leader1")
    page = await console.client.get("/staff/reports")
    assert page.status_code == 200
    html = page.text
    for part in (
        "2026年11月 报表",
        "各单位指标",
        "二七区城市管理局",
        "全区合计",
        "<svg",
        "好差评分布",
        "每月一题",
    ):
        assert part in html, part
    assert "响应率" in html.split("<svg")[1]  # the chart's legend, in Chinese
    assert "路灯" in html.split("每月一题")[1]  # the month's top issue: two reports about street lights

    csv_r = await console.client.get("/staff/reports/orders.csv", params={"month": "2026-11"})
    assert csv_r.content.startswith(b"\xef\xbb\xbf") and "attachment" in csv_r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(csv_r.content.decode("utf-8-sig"))))
    assert rows[0][0] == "工单编号" and len(rows) == 4
    assert all("13812345678" not in cell for row in rows for cell in row)  # phones masked in exports
    xlsx = await console.client.get("/staff/reports/orders.xlsx", params={"month": "2026-11"})
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content), read_only=True)
    assert book.sheetnames == ["工单", "指标"] and len(list(book["工单"].iter_rows())) == 4
    book.close()
    assert (await console.client.get("/staff/reports", params={"month": "11月"})).status_code == 400
    assert (await console.client.get("/staff/reports/orders.pdf")).status_code == 404


async def test_a_handler_reports_on_their_own_unit_only(console: Console) -> None:
    await worked_orders(console)
    await console.account("urban1", Role.handler, "urban")
    await console.login("urban1")
    html = (await console.client.get("/staff/reports")).text
    assert "（本单位）" in html and "二七区城市管理局" in html and "二七区住房" not in html
    rows = list(
        csv.reader(
            io.StringIO((await console.client.get("/staff/reports/orders.csv")).content.decode("utf-8-sig"))
        )
    )
    assert len(rows) == 2  # the header and the unit's one order


async def test_the_staff_inbox_shows_what_the_scheduler_delivered(console: Console) -> None:
    now = console.clock()
    items = [
        Item(
            Kind.urge,
            Target("unit", "urban"),
            now,
            "【催办】工单 EQ-1 已超期",
            "u:1",
            payload={"order": "EQ-1"},
        ),
        Item(
            Kind.urge,
            Target("unit", "housing"),
            now,
            "【催办】工单 EQ-2 已超期",
            "u:2",
            payload={"order": "EQ-2"},
        ),
    ]
    scheduler = Scheduler(console.db, clock=console.clock, calendar=load_calendar())
    await scheduler.store.add(items, now)
    await scheduler.tick()
    await console.account("urban1", Role.handler, "urban")
    await console.account("centre1", Role.dispatcher)
    await console.login("urban1")
    mine = (await console.client.get("/staff/inbox")).text
    assert "EQ-1" in mine and "EQ-2" not in mine
    await console.login("centre1")
    everything = (await console.client.get("/staff/inbox")).text
    assert "EQ-1" in everything and "EQ-2" in everything
