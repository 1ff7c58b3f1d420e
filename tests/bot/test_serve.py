"""`yiqiban run` as a real process: it serves the web chat and shuts down cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_run_serves_the_web_chat_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port, db = free_port(), tmp_path / "var" / "run.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YIQIBAN_", "TELEGRAM_"))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--port", str(port), "--db", str(db)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "网页聊天" in line:
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert ready.wait(60), "".join(lines)
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=10) as client:
            for _ in range(50):  # the banner is printed just before uvicorn binds the port
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    ready.wait(0.1)
            token = client.post("/api/sessions").json()["token"]
            answer = client.post(
                "/api/messages",
                json={"text": "营业执照丢了怎么补办"},
                headers={"Authorization": f"Bearer {token}"},
            ).json()
            assert "营业执照" in answer["replies"][0]["text"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, "".join(lines)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        reader.join(10)
        assert proc.stdout is not None
        proc.stdout.close()
    assert "已停止" in "".join(lines)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        stored = [r[0] for r in conn.execute("SELECT text FROM messages WHERE direction = 'in'")]
    assert "营业执照丢了怎么补办" in stored
