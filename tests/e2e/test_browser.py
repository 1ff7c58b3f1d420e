"""The web chat in a real headless Chromium at phone size: ask, file a petition, see its number.

Needs Debian's `chromium` (CI installs it, see .ci/run) and the `playwright` package, which drives
that browser; nothing is downloaded. Set YIQIBAN_SCREENSHOT=FILE to save the phone-size
screenshot used in the README.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import RunningServer

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"), reason="Debian's chromium is not installed"
)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BOT = ".row:not(.me) .bubble"
# A 1×1 PNG: the smallest real image the upload path accepts.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da63f8cfc0f01f0005000201f0b7ab530000000049454e44ae426082"
)


async def test_ask_a_policy_question_and_file_a_petition_with_a_photo(
    server: RunningServer, tmp_path: Path
) -> None:
    from playwright.async_api import async_playwright, expect

    assert CHROMIUM is not None, "CI must install Debian's chromium"
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        context = await browser.new_context(
            viewport={"width": 390, "height": 844}, device_scale_factor=2, locale="zh-CN"
        )
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(server.base)
        await expect(page.locator(BOT).first).to_be_visible(timeout=15000)

        async def say(text: str) -> None:
            await page.fill("#input", text)
            await page.click("#send")

        await say("小规模纳税人增值税有什么优惠")
        await expect(page.locator(BOT).filter(has_text="月销售额")).to_have_count(1, timeout=15000)

        await say("我要投诉，我们公司门口长期被占道经营，电话13812345678")
        await expect(page.locator(BOT).last).to_contain_text("企业", timeout=15000)
        await say("跳过")
        await expect(page.locator(BOT).last).to_contain_text("地点", timeout=15000)
        await say("二七区大学路")
        await expect(page.locator(BOT).last).to_contain_text("照片", timeout=15000)
        photo = tmp_path / "现场.png"
        photo.write_bytes(PNG)
        await page.set_input_files("input[type=file]", str(photo))
        await expect(page.locator(BOT).filter(has_text="已收到 1 个附件")).to_have_count(1, timeout=15000)
        await page.locator(".buttons button", has_text="完成").last.click()
        await page.locator(".buttons button", has_text="否").last.click()
        await page.locator(".buttons button", has_text="确认提交").last.click()
        done = page.locator(BOT).filter(has_text="工单号")
        await expect(done).to_have_count(1, timeout=15000)
        assert "EQ-" in (await done.inner_text()) and "1 个附件" in (await done.inner_text())
        if target := os.environ.get("YIQIBAN_SCREENSHOT"):
            await page.screenshot(path=target)
        else:
            await page.screenshot(path=str(tmp_path / "phone.png"))
        assert errors == []
        await browser.close()
