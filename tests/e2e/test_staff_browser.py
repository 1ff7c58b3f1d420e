"""The staff console in a real headless Chromium beside a user's web chat, on a running server:
a petition arrives in the queue by itself, staff reply and the reply reaches the user's chat,
the unit closes the order, another unit cannot open it, and HTML typed by the user stays text.

Set YIQIBAN_STAFF_SCREENSHOT=DIR to save the queue screenshot used in the README.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import RunningServer
from tests.e2e.test_browser import CHROMIUM, FLAGS

pytestmark = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"), reason="Debian's chromium is not installed"
)
PASSWORD = "console password 2026"
BOT = ".row:not(.me) .bubble"
HTML = '<img src=x onerror="window.__pwned=1">占道经营'


def add_staff(db: Path, username: str, role: str, unit: str | None = None) -> None:
    command = [sys.executable, "-m", "bot", "staff", "add", username, "--role", role, "--db", str(db)]
    command += ["--password-stdin", *(["--unit", unit] if unit else [])]
    done = subprocess.run(command, input=PASSWORD + "\n", text=True, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr


async def test_staff_see_a_petition_arrive_reply_and_close_it(server: RunningServer, tmp_path: Path) -> None:
    from playwright.async_api import async_playwright, expect

    assert CHROMIUM is not None
    for username, role, unit in (("centre1", "dispatcher", None), ("urban1", "handler", "urban"),
                                 ("housing1", "handler", "housing")):  # fmt: skip
        await asyncio.to_thread(add_staff, server.db, username, role, unit)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        user = await (
            await browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
        ).new_page()
        staff_context = await browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
        staff = await staff_context.new_page()
        errors: list[str] = []
        for page in (user, staff):
            page.on("pageerror", lambda exc: errors.append(str(exc)))

        async def login(username: str) -> None:
            await staff_context.clear_cookies()
            await staff.goto(f"{server.base}/staff/login")
            await staff.fill("input[name=username]", username)
            await staff.fill("input[name=password]", PASSWORD)
            await staff.click("button:has-text('登录')")
            await expect(staff.locator("h2", has_text="工单队列")).to_be_visible(timeout=15000)

        await login("centre1")
        await user.goto(server.base)
        await expect(user.locator(BOT).first).to_be_visible(timeout=15000)

        async def say(text: str) -> None:
            await user.fill("#input", text)
            await user.click("#send")

        await say(f"我要投诉，{HTML}，电话13812345678")
        for step in ("跳过", "二七区大学路"):
            await expect(user.locator(BOT).last).not_to_contain_text("正在", timeout=15000)
            await say(step)
        for label in ("跳过", "否", "确认提交"):  # no photos, not confidential, confirm
            button = user.locator(".buttons button", has_text=label).last
            await expect(button).to_be_visible(timeout=15000)
            await button.click()
        done = user.locator(BOT).filter(has_text="工单号")
        await expect(done).to_have_count(1, timeout=15000)
        number = re.search(r"EQ-\d{8}-\d{4}", await done.inner_text())
        assert number is not None
        order = number.group(0)

        # The queue the dispatcher already has open updates by itself.
        row = staff.locator("tr", has_text=order)
        await expect(row).to_be_visible(timeout=15000)
        assert await staff.evaluate("window.__pwned") is None
        await expect(row).to_contain_text("<img src=x")  # the user's HTML, shown as text
        if target := os.environ.get("YIQIBAN_STAFF_SCREENSHOT"):
            await staff.screenshot(path=str(Path(target) / "staff-queue.png"))
        await staff.click(f"a:has-text('{order}')")
        await staff.fill("textarea[name=text] >> nth=0", "您好，已收到您的投诉，正在转交城管部门。")
        await staff.click("button:has-text('发送')")
        await expect(user.locator(BOT).filter(has_text="【工作人员】您好，已收到您的投诉")).to_have_count(
            1, timeout=20000
        )

        for action, extra in (("accept", {}), ("dispatch", {"unit": "urban"})):
            await staff.select_option("select[name=action]", action)
            for name, value in extra.items():
                await staff.fill(f"input[name={name}]", value)
            await staff.click("button:has-text('执行')")
            await expect(staff.locator("h2", has_text=order)).to_be_visible(timeout=15000)

        await login("housing1")  # another unit: not in its queue, not by URL
        await expect(staff.locator("tr", has_text=order)).to_have_count(0)
        response = await staff.goto(f"{server.base}/staff/orders/{order}")
        assert response is not None and response.status == 404

        await login("urban1")
        await staff.click(f"a:has-text('{order}')")
        for action, extra in (("acknowledge", {}), ("resolve", {"result": "已清理占道经营。"})):
            await staff.select_option("select[name=action]", action)
            for name, value in extra.items():
                await staff.fill(f"input[name={name}]", value)
            await staff.click("button:has-text('执行')")
            await expect(staff.locator("h2", has_text=order)).to_be_visible(timeout=15000)
        await expect(staff.locator("dd", has_text="已办结")).to_be_visible()

        await login("centre1")  # the month's report, with the order just closed
        await staff.goto(f"{server.base}/staff/reports")
        await expect(staff.locator("svg")).to_be_visible(timeout=15000)
        await expect(staff.locator("td", has_text="二七区城市管理局").first).to_be_visible()
        if target := os.environ.get("YIQIBAN_STAFF_SCREENSHOT"):
            await staff.screenshot(path=str(Path(target) / "staff-reports.png"), full_page=True)
        assert errors == []
        await browser.close()


async def test_an_escalated_chat_arrives_and_is_answered(tmp_path: Path) -> None:
    """转人工 in office hours: the chat appears in the staff queue by itself, the reply reaches the
    user, and ending the human service tells them. The server gets a calendar whose office hours
    cover the whole of today, so the test does not depend on when it runs."""
    from datetime import datetime, timedelta, timezone

    from playwright.async_api import async_playwright, expect

    from tests.conftest import running_server

    assert CHROMIUM is not None
    today = datetime.now(timezone(timedelta(hours=8))).date()
    calendar = tmp_path / "calendar.yaml"
    calendar.write_text(
        f'extra_holidays: []\nextra_workdays: ["{today}"]\nhours:\n  - ["00:00", "23:59"]\n', encoding="utf-8"
    )
    with running_server(tmp_path, {"YIQIBAN_CALENDAR": str(calendar)}) as server:
        await asyncio.to_thread(add_staff, server.db, "centre1", "dispatcher")
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            user = await (await browser.new_context(viewport={"width": 390, "height": 844})).new_page()
            staff = await (await browser.new_context(viewport={"width": 1280, "height": 800})).new_page()
            await staff.goto(f"{server.base}/staff/login")
            await staff.fill("input[name=username]", "centre1")
            await staff.fill("input[name=password]", PASSWORD)
            await staff.click("button:has-text('登录')")
            await expect(staff.locator("h2", has_text="待人工回复")).to_be_visible(timeout=15000)

            await user.goto(server.base)
            await expect(user.locator(BOT).first).to_be_visible(timeout=15000)
            await user.fill("#input", "转人工")
            await user.click("#send")
            waiting = staff.locator("a[href^='/staff/chats/web/']")
            await expect(waiting).to_have_count(1, timeout=15000)  # arrived without a reload by hand
            await waiting.click()
            await expect(staff.locator("p", has_text="转人工")).to_be_visible(timeout=15000)
            await staff.fill("textarea[name=text]", "您好，我是 12345 的工作人员，请问有什么可以帮您？")
            await staff.click("button:has-text('发送')")
            await expect(user.locator(BOT).filter(has_text="【工作人员】您好，我是 12345")).to_have_count(
                1, timeout=20000
            )
            await staff.click("button:has-text('结束人工服务')")
            await expect(user.locator(BOT).filter(has_text="人工服务已结束")).to_have_count(1, timeout=20000)
            await browser.close()
