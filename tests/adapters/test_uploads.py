"""`POST /api/uploads`: a photo or file as the raw body, staged into the petition being filed."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

from bot.core.flows.files import NOT_SUPPORTED
from bot.store.attachments import MAX_BYTES

Json = dict[str, Any]
UPLOAD_LIMIT = 4096  # the `files_web` fixture's max_upload_bytes (the default is MAX_BYTES)
PHOTO = b"\xff\xd8\xff a photo of the broken road"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def texts(data: Json) -> str:
    return "\n".join(reply["text"] for reply in data["replies"])


def payloads(data: Json) -> list[str]:
    return [b["payload"] for reply in data["replies"] for b in reply["buttons"]]


async def say(web: Any, token: str, **body: Any) -> Json:
    r = await web.client.post("/api/messages", headers=auth(token), json=body)
    assert r.status_code == 200, r.text
    data: Json = r.json()
    return data


async def upload(
    web: Any, token: str | None, name: str | None, data: Any, media_type: str = "image/jpeg"
) -> Any:
    headers = {"Content-Type": media_type, **(auth(token) if token else {})}
    if name is not None:
        headers["X-File-Name"] = quote(name)
    return await web.client.post("/api/uploads", headers=headers, content=data)


async def test_a_photo_uploaded_while_filing_is_attached_to_the_order(files_web: Any) -> None:
    web = files_web
    token = await web.session()
    await say(web, token, text="我要反映问题")
    await say(web, token, button="pt:help")
    await say(web, token, text="厂区门口道路破损，货车进出困难，请协调维修")
    await say(web, token, text="跳过")
    await say(web, token, text="13812345678")
    photos = await say(web, token, text="二七区大学路 88 号")
    assert payloads(photos)[:2] == ["pp:done", "pp:skip"]

    r = await upload(web, token, "路面 照片.jpg", PHOTO)
    assert r.status_code == 200, r.text
    assert "已收到 1 个附件" in texts(r.json()) and "pp:done" in payloads(r.json())
    await say(web, token, button="pp:done")
    assert "附件：1 个（路面 照片.jpg）" in texts(await say(web, token, button="pc:0"))
    done = texts(await say(web, token, button="pf:confirm"))
    number = re.search(r"EQ-[0-9A-Z-]+", done)
    assert number is not None and "已附上 1 个附件" in done
    [att] = await web.store.list(web.db, number.group())
    assert (att.name, att.media_type, att.size) == ("路面 照片.jpg", "image/jpeg", len(PHOTO))
    assert web.store.read(att) == PHOTO


async def test_a_forbidden_type_is_explained_in_the_replies(files_web: Any) -> None:
    token = await files_web.session()
    await say(files_web, token, text="我要反映问题")
    r = await upload(files_web, token, "x.exe", b"MZ", "application/x-msdownload")
    assert r.status_code == 200 and "不支持的文件类型" in texts(r.json())


async def test_outside_a_petition_the_reply_offers_to_file_one(files_web: Any) -> None:
    r = await upload(files_web, await files_web.session(), "a.jpg", PHOTO)
    assert r.status_code == 200 and payloads(r.json()) == ["petition:start"]


async def test_without_a_store_uploads_are_refused_politely(web: Any) -> None:
    r = await upload(web, await web.session(), "a.jpg", PHOTO)
    assert r.status_code == 200 and texts(r.json()) == NOT_SUPPORTED


async def test_upload_needs_a_token(files_web: Any) -> None:
    for token in (None, "not-a-token"):
        r = await upload(files_web, token, "a.jpg", PHOTO)
        assert r.status_code == 401 and "令牌" in r.json()["error"]


async def test_too_large_is_413_declared_or_streamed(files_web: Any) -> None:
    token = await files_web.session()
    r = await upload(files_web, token, "big.jpg", bytes(UPLOAD_LIMIT + 1))
    assert r.status_code == 413 and f"不能超过 {MAX_BYTES // 1024 // 1024} MB" in r.json()["error"]

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted while reading
        for _ in range(3):
            yield bytes(UPLOAD_LIMIT // 2)

    r = await upload(files_web, token, "big.jpg", chunks())
    assert r.status_code == 413 and "文件过大" in r.json()["error"]
    at_limit = await upload(files_web, token, "ok.jpg", bytes(UPLOAD_LIMIT))
    assert at_limit.status_code == 200  # the limit itself is fine


async def test_missing_or_bad_file_name_or_empty_body_is_400(files_web: Any) -> None:
    token = await files_web.session()
    r = await upload(files_web, token, None, PHOTO)
    assert r.status_code == 400 and "X-File-Name" in r.json()["error"]
    r = await files_web.client.post(
        "/api/uploads", headers={**auth(token), "X-File-Name": "%E7%85"}, content=PHOTO
    )  # not UTF-8 once decoded
    assert r.status_code == 400
    r = await upload(files_web, token, "a.jpg", b"")
    assert r.status_code == 400 and "空" in r.json()["error"]
