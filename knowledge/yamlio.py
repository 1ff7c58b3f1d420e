"""YAML parsing with libyaml's C loader when PyYAML has it: the pure-Python one costs about half a
second on the bundled knowledge base, which is most of a cold `yiqiban kb ask`."""

from __future__ import annotations

from typing import Any

import yaml

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text: str) -> Any:
    """`yaml.safe_load` semantics (no arbitrary objects), C speed where available."""
    return yaml.load(text, Loader=_Loader)
