"""`yiqiban run` as a real process: it serves the web chat and shuts down cleanly on SIGTERM."""

from __future__ import annotations

import signal
import sqlite3

import httpx

from tests.conftest import RunningServer


def test_run_serves_the_web_chat_and_stops_cleanly_on_sigterm(server: RunningServer) -> None:
    with httpx.Client(base_url=server.base, timeout=10) as client:
        token = client.post("/api/sessions").json()["token"]
        answer = client.post(
            "/api/messages",
            json={"text": "营业执照丢了怎么补办"},
            headers={"Authorization": f"Bearer {token}"},
        ).json()
    assert "营业执照" in answer["replies"][0]["text"]
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(30) == 0, server.output
    with sqlite3.connect(server.db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        stored = [r[0] for r in conn.execute("SELECT text FROM messages WHERE direction = 'in'")]
    assert "营业执照丢了怎么补办" in stored
    assert not server.db.with_name(server.db.name + "-wal").exists() or (
        server.db.with_name(server.db.name + "-wal").stat().st_size == 0
    )  # the final checkpoint left one compact file
