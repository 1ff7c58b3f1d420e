"""The text of a configuration file: the bundled one under `bot/`, or one the operator points at.

Deadlines, the calendar and the polls are each a bundled YAML file that a district may replace
with its own; reading either the same way means the same clear error (in Chinese, naming the
file) when the replacement cannot be read, whichever file it is.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path


def read_data_file(
    path: Path | str | None, bundled: str, error: Callable[[str, str], Exception]
) -> tuple[str, str]:
    """(where, text): `path` if given, else `bot/<bundled>`; `error(where, message)` is raised
    when a given file cannot be read or is not UTF-8."""
    if path is None:
        return f"bot/{bundled}", resources.files("bot").joinpath(bundled).read_text(encoding="utf-8")
    where = str(path)
    try:
        return where, Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise error(where, f"无法读取文件：{exc}") from None
