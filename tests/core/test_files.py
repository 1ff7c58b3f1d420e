"""Photos and files sent while filing a petition: staged at once, attached when it is filed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.core.flows.files import NOT_SUPPORTED, OUTSIDE_PETITION, PHOTOS_QUESTION
from bot.core.messages import Inbound, InboundFile, Reply
from bot.store.attachments import MAX_BYTES

GATE = b"\xff\xd8\xff photo of the gate"
ROAD_1 = b"\xff\xd8\xff photo of the road, 1"
ROAD_2 = b"\x89PNG photo of the road, 2"


def payloads(replies: list[Reply]) -> list[str]:
    return [b.payload for r in replies for b in r.buttons]


def text(replies: list[Reply]) -> str:
    return "\n".join(r.text for r in replies)


async def send(env: Any, chat: Any, *files: InboundFile, caption: str | None = None) -> list[Reply]:
    inbound = Inbound(chat.address, env.clock(), text=caption, files=files)
    replies: list[Reply] = await env.core.handle(inbound)
    return replies


def blobs(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


async def staged(env: Any, chat: Any) -> list[dict[str, Any]]:
    files: list[dict[str, Any]] = (await env.core.dialogs.load(chat.address)).data.get("files", [])
    return files


async def to_content_step(chat: Any) -> None:
    await chat.say("我要反映问题")
    assert "请简要描述" in text(await chat.press("pt:help"))


async def content_to_photos_step(chat: Any) -> list[Reply]:
    assert "企业名称" in text(await chat.say("厂区门口道路破损，货车进出困难，请协调维修"))
    await chat.say("跳过")
    assert "地点" in text(await chat.say("13812345678"))
    return await chat.say("二七区大学路 88 号")


async def test_files_from_two_steps_are_attached_to_the_filed_order(files_env: Any) -> None:
    env, chat = files_env, files_env.chat()
    await to_content_step(chat)
    early = await send(env, chat, InboundFile("门口.jpg", GATE, "image/jpeg"))
    assert "已收到 1 个附件" in text(early) and "请简要描述" in text(early)  # still at the content step
    assert [set(f) for f in await staged(env, chat)] == [{"name", "media_type", "size", "sha256"}]

    photos = await content_to_photos_step(chat)
    assert PHOTOS_QUESTION in text(photos)
    assert payloads(photos)[:2] == ["pp:done", "pp:skip"]
    assert "已收到 2 个附件" in text(await send(env, chat, InboundFile("路面1.jpg", ROAD_1, None)))
    at_step = await send(env, chat, InboundFile("路面2.png", ROAD_2, "image/png"))
    assert "已收到 3 个附件" in text(at_step) and "pp:done" in payloads(at_step)
    assert "已收到 3 个附件" in text(
        await send(env, chat, InboundFile("again.jpg", GATE, None))
    )  # same photo
    assert "完成" in text(await chat.say("我还有一张"))  # a text at this step gets a hint

    assert payloads(await chat.press("pp:done"))[:2] == ["pc:1", "pc:0"]
    summary = text(await chat.press("pc:0"))
    assert "附件：3 个（门口.jpg 等）" in summary
    done = text(await chat.press("pf:confirm"))
    assert "已附上 3 个附件" in done

    [order] = await env.repo.list(petitioner=await chat.person())
    attached = await env.store.list(env.db, order.number)
    assert [a.name for a in attached] == ["门口.jpg", "路面1.jpg", "路面2.png"]
    assert [a.media_type for a in attached] == ["image/jpeg", "image/jpeg", "image/png"]
    assert [env.store.read(a) for a in attached] == [GATE, ROAD_1, ROAD_2]
    assert {a.added_by for a in attached} == {await chat.person()}
    rows = await env.db.fetchall("SELECT count(*) AS n FROM order_attachments")
    assert rows[0]["n"] == 3
    assert await chat.state() == "idle"


async def test_skipping_the_photos_step_files_an_order_without_attachments(files_env: Any) -> None:
    env, chat = files_env, files_env.chat()
    await to_content_step(chat)
    await content_to_photos_step(chat)
    assert "pc:0" in payloads(await chat.press("pp:skip"))
    assert "附件：无" in text(await chat.press("pc:0"))
    assert "pe:photos" in payloads(await chat.press("pf:edit"))
    assert PHOTOS_QUESTION in text(await chat.press("pe:photos"))  # 修改 → 附件 asks again
    await send(env, chat, InboundFile("a.pdf", b"%PDF-1.7", None))
    assert "附件：1 个（a.pdf）" in text(await chat.say("完成"))  # straight back to the summary
    done = text(await chat.press("pf:confirm"))
    [order] = await env.repo.list(petitioner=await chat.person())
    assert "已附上 1 个附件" in done and len(await env.store.list(env.db, order.number)) == 1


async def test_refused_files_are_explained_and_nothing_is_kept(files_env: Any) -> None:
    env, chat = files_env, files_env.chat()
    await to_content_step(chat)
    exe = text(await send(env, chat, InboundFile("x.exe", b"MZ\x90\x00", None)))
    assert "x.exe" in exe and "图片" in exe and "请简要描述" in exe
    declared = text(await send(env, chat, InboundFile("y.jpg", b"MZ", "application/x-msdownload")))
    assert "不支持的文件类型" in declared
    big = text(await send(env, chat, InboundFile("big.jpg", bytes(MAX_BYTES + 1), "image/jpeg")))
    assert "超过了 20 MB 的上限" in big
    assert await staged(env, chat) == [] and blobs(env.store.root) == []
    assert "已收到" not in exe + declared + big


async def test_at_most_nine_files_per_petition(files_env: Any) -> None:
    env, chat = files_env, files_env.chat()
    await to_content_step(chat)
    many = tuple(InboundFile(f"{i}.txt", f"note {i}".encode(), None) for i in range(10))
    reply = text(await send(env, chat, *many))
    assert "已收到 9 个附件" in reply and "最多 9 个附件" in reply and "“9.txt”未保存" in reply
    assert len(await staged(env, chat)) == 9 and len(blobs(env.store.root)) == 9


async def test_a_restart_mid_form_keeps_the_staged_files(files_env: Any) -> None:
    env, chat = files_env, files_env.chat()
    await to_content_step(chat)
    await send(env, chat, InboundFile("门口.jpg", GATE, None))
    await env.restart()  # metadata in the dialog, blob on disk: both survive
    await content_to_photos_step(chat)
    await send(env, chat, InboundFile("路面1.jpg", ROAD_1, None))
    await env.restart()
    await chat.press("pp:done")
    await chat.press("pc:1")
    assert "已附上 2 个附件" in text(await chat.press("pf:confirm"))
    [order] = await env.repo.list(petitioner=await chat.person())
    assert [env.store.read(a) for a in await env.store.list(env.db, order.number)] == [GATE, ROAD_1]


async def test_a_caption_is_handled_as_the_answer_to_the_step(files_env: Any) -> None:
    env, chat = files_env, files_env.chat()
    await to_content_step(chat)
    replies = await send(
        env, chat, InboundFile("门口.jpg", GATE, None), caption="厂区门口道路破损，请协调维修"
    )
    assert "已收到 1 个附件" in text(replies) and "企业名称" in text(replies)


async def test_files_outside_a_petition_get_a_hint_to_file_one(files_env: Any) -> None:
    env, chat = files_env, files_env.chat()
    replies = await send(env, chat, InboundFile("门口.jpg", GATE, None))
    assert text(replies) == OUTSIDE_PETITION and payloads(replies) == ["petition:start"]
    assert blobs(env.store.root) == [] and await chat.state() == "idle"


async def test_without_a_store_files_are_refused_and_the_form_has_no_photos_step(env: Any) -> None:
    chat = env.chat()
    assert text(await send(env, chat, InboundFile("门口.jpg", GATE, None))) == NOT_SUPPORTED
    await to_content_step(chat)
    assert text(await send(env, chat, InboundFile("门口.jpg", GATE, None))) == NOT_SUPPORTED
    assert payloads(await content_to_photos_step(chat))[:2] == ["pc:1", "pc:0"]
    assert "附件" not in text(await chat.press("pc:0"))
