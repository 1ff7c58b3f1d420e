#!/usr/bin/env python3
"""Bootstrap and run: `python3 dev.py run` starts the bot, `python3 dev.py test` runs the tests.

Needs nothing but Python 3.11+: the first call creates `.venv/` and installs the project with its
development dependencies; later calls reinstall only when `pyproject.toml` has changed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".yiqiban-installed"


def ensure_env() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py itself must explain this on old Pythons
        sys.exit(f"需要 Python 3.11 或更高版本，当前为 {sys.version.split()[0]}")
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == want:
        return
    if not (BIN / "python").exists():
        print("创建虚拟环境 .venv …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("安装依赖（首次需要几分钟）…", flush=True)
    pip = [str(BIN / "python"), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "-e", f"{ROOT}[dev,bench]"], check=True, cwd=ROOT)
    STAMP.write_text(want)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"run", "test"}:
        print("用法：python3 dev.py run [参数…] | python3 dev.py test [pytest 参数…]")
        return 2
    ensure_env()
    if argv[0] == "run":
        cmd = [str(BIN / "yiqiban"), "run", *argv[1:]]
    else:
        cmd = [str(BIN / "python"), "-m", "pytest", *argv[1:]]
    return subprocess.call(cmd, cwd=ROOT)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
