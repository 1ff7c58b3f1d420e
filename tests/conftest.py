"""Fixtures shared across test folders: a settable clock, the bundled knowledge base and its
matcher (built once per session), and a real `yiqiban run` process on a free port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from knowledge.loader import KnowledgeBase, load_default
from knowledge.matcher import Matcher

CST = timezone(timedelta(hours=8))
THURSDAY_10 = datetime(2026, 11, 26, 10, 0, tzinfo=CST)  # a working day, office hours


class Clock:
    """The engine's only time source in tests: set or advance it, never sleep."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return load_default()


@pytest.fixture(scope="session")
def matcher(kb: KnowledgeBase) -> Matcher:
    return Matcher.from_kb(kb)


@pytest.fixture
def clock() -> Clock:
    return Clock(THURSDAY_10)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RunningServer:
    base: str
    proc: subprocess.Popen[str]
    db: Path
    lines: list[str] = field(default_factory=list)

    @property
    def output(self) -> str:
        return "".join(self.lines)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    """`python -m bot run` with a fresh database; stopped with SIGTERM afterwards if still up."""
    with running_server(tmp_path) as running:
        yield running


@contextmanager
def running_server(tmp_path: Path, settings: Mapping[str, str] | None = None) -> Iterator[RunningServer]:
    """The server of the `server` fixture, with `settings` (YIQIBAN_* variables) in its environment."""
    port, db = free_port(), tmp_path / "var" / "server.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YIQIBAN_", "TELEGRAM_"))}
    env.update(settings or {})
    command = [sys.executable, "-m", "bot", "run", "--port", str(port), "--db", str(db)]
    with subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:
        running = RunningServer(f"http://127.0.0.1:{port}", proc, db)
        ready = threading.Event()

        def read() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                running.lines.append(line)
                if "网页聊天" in line:
                    ready.set()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            assert ready.wait(60), running.output
            with httpx.Client(base_url=running.base, timeout=5) as client:
                for _ in range(100):  # the banner is printed just before uvicorn binds the port
                    try:
                        if client.get("/healthz").status_code == 200:
                            break
                    except httpx.TransportError:
                        ready.wait(0.1)
            yield running
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
            reader.join(10)
