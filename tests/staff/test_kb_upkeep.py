"""Knowledge-base upkeep at the console: an edit is validated like the loader does, stored beside
the database, audited, and answered by the bot at once, without a restart."""

from __future__ import annotations

import html
import re
from typing import Any

import yaml

from bot.app import KB_OVERLAY
from bot.staff.accounts import Role
from knowledge.lexicon import DATA_DIR
from knowledge.loader import load_dir
from tests.staff.conftest import Console


async def ask(console: Console, question: str) -> str:
    token = (await console.client.post("/api/sessions")).json()["token"]
    r = await console.client.post(
        "/api/messages", json={"text": question}, headers={"Authorization": f"Bearer {token}"}
    )
    return "\n".join(x["text"] for x in r.json()["replies"])


def edit_box(page: str) -> str:
    found = re.search(r"<textarea name=\"text\"[^>]*>(.*?)</textarea>", page, re.S)
    assert found is not None
    return html.unescape(found.group(1))


async def test_an_edited_answer_is_used_at_once_and_kept(console: Console) -> None:
    entry = next(e for e in console.core.deps.kb if e.kind == "faq")
    question = entry.phrasings()[0]
    await console.account("centre1", Role.dispatcher)
    await console.login("centre1")
    page = (await console.client.get(f"/staff/kb/{entry.id}")).text
    doc: dict[str, Any] = yaml.safe_load(edit_box(page))
    assert doc["id"] == entry.id
    doc["answer"] = "【本地修改】请携带营业执照原件到二七区政务服务中心 3 号窗口办理。"
    csrf = await console.csrf()
    saved = await console.client.post(
        "/staff/kb/save",
        data={"csrf": csrf, "expected": entry.id, "text": yaml.safe_dump(doc, allow_unicode=True)},
    )
    assert saved.status_code == 303
    assert "【本地修改】" in await ask(console, question)  # no restart
    overlay = console.db.path.parent / KB_OVERLAY
    assert load_dir(DATA_DIR, overlay).get(entry.id).answer.startswith("【本地修改】")  # type: ignore[union-attr]
    assert ("kb.edit", entry.id) in [(a, t) for _, a, t, *_ in await console.staff.audit_log()]


async def test_a_new_entry_can_be_added(console: Console) -> None:
    await console.account("centre1", Role.dispatcher)
    await console.login("centre1")
    text = (
        "id: faq-local-parking\nkind: faq\ncategory: 本地编辑\nquestion: 二七万达附近企业员工停车有优惠吗\n"
        "answer: 示例：持企业员工证可在指定停车场享受月卡优惠。\nparaphrases:\n  - 员工停车月卡优惠\n"
        "  - 企业员工停车打折\n  - 上班停车有没有优惠\nsample: true\n"
    )
    saved = await console.client.post("/staff/kb/save", data={"csrf": await console.csrf(), "text": text})
    assert saved.status_code == 303 and saved.headers["location"] == "/staff/kb/faq-local-parking"
    assert "月卡优惠" in await ask(console, "企业员工停车有优惠吗")


async def test_bad_edits_are_refused_with_the_field_named(console: Console) -> None:
    entry = next(e for e in console.core.deps.kb if e.kind == "faq")
    await console.account("centre1", Role.dispatcher)
    await console.account("urban1", Role.handler, "urban")
    await console.login("centre1")
    csrf = await console.csrf()
    doc = yaml.safe_load(edit_box((await console.client.get(f"/staff/kb/{entry.id}")).text))
    cases = [
        ({**doc, "answer": ""}, "answer"),
        ({**doc, "colour": "red"}, "colour"),
        ({**doc, "id": "another-id"}, "编号不能修改"),
        ({**doc, "links": ["no-such-entry"]}, "no-such-entry"),
    ]
    for bad, named in cases:
        text = yaml.safe_dump(bad, allow_unicode=True)
        refused = await console.client.post(
            "/staff/kb/save", data={"csrf": csrf, "expected": entry.id, "text": text}
        )
        assert refused.status_code == 400 and named in html.unescape(refused.text), named
    assert not (console.db.path.parent / KB_OVERLAY).exists()  # nothing half-written
    assert console.core.deps.kb.get(entry.id) == entry

    await console.login("urban1")  # a handler may read, not change
    page = (await console.client.get(f"/staff/kb/{entry.id}")).text
    assert "readonly" in page and "只读" in page
    text = yaml.safe_dump({**doc, "answer": "改了"}, allow_unicode=True)
    refused = await console.client.post(
        "/staff/kb/save", data={"csrf": await console.csrf(), "expected": entry.id, "text": text}
    )
    assert refused.status_code == 400 and "不能修改知识库" in refused.text
