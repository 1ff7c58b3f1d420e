"""The 派单目录 (which unit handles what, and where) and a router that suggests units for a petition.

Mis-dispatch is what makes orders "fly" between units (退单拉锯, anchors.md §6.11), so the catalogue
is data an operator maintains, validated like the knowledge base: unknown fields, duplicate ids and
links to knowledge-base entries that do not exist are errors naming the file, line, unit and field.
The router only suggests: each suggestion carries a Chinese reason so the dispatcher can check it
at a glance, and when nothing fits it returns nothing rather than a guess. Pure after loading.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from rapidfuzz import fuzz

from knowledge.errors import yaml_line
from knowledge.normalize import normalize
from knowledge.yamlio import parse_yaml

BUNDLED = Path(__file__).resolve().parent / "data" / "units.yaml"

UnitId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Kind = Literal["department", "street", "town"]

# Evidence weights. A duty keyword is the strongest single signal; a knowledge-base hit means the
# question matched an item the unit owns; a place alone only says whose territory it is.
EXACT = 1.0
NEAR = 0.8  # scaled by the fuzzy ratio, so a 90 % match weighs 0.72
KB = 0.9  # first kb hit; later hits (less relevant) weigh KB / rank
PLACE_IN_LOCATION = 0.6
PLACE_IN_TEXT = 0.5
FUZZY_MIN_LEN = 3
FUZZY_CUTOFF = 90.0
DECAY = 0.5  # the i-th piece of evidence (strongest first) counts DECAY**i: volume is not proof
SHOWN_KEYWORDS = 3


class CatalogueError(ValueError):
    """A catalogue that cannot be used; names the file, line, unit and field to fix."""

    def __init__(
        self, path: Path, unit: str | None, field: str | None, message: str, line: int | None = None
    ) -> None:
        self.path, self.unit, self.field, self.message, self.line = path, unit, field, message, line
        parts = [f"{path}:{line}" if line else str(path)]
        if unit:
            parts.append(f"单位 {unit}")
        if field:
            parts.append(f"字段 {field}")
        super().__init__("，".join(parts) + f"：{message}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class UnitSpec(_Strict):
    """One 承办单位 as the catalogue describes it."""

    id: UnitId
    name: Text
    kind: Kind
    duties: tuple[Text, ...] = ()
    places: tuple[Text, ...] = ()
    kb_items: tuple[Text, ...] = ()


class Catalogue(_Strict):
    """The whole 派单目录; `sample` marks illustrative content that must not go live unreviewed."""

    sample: bool = False
    local_duties: tuple[Text, ...] = ()
    units: tuple[UnitSpec, ...] = Field(min_length=1)

    def get(self, unit_id: str) -> UnitSpec | None:
        return next((u for u in self.units if u.id == unit_id), None)


@cache
def unit_name(unit: str) -> str:
    """A unit's display name for petitioners: the bundled catalogue's name for a unit id, the
    text itself for a unit typed by name (or unknown), "承办单位" when there is none."""
    if not unit:
        return "承办单位"
    spec = load_catalogue().get(unit)
    return spec.name if spec is not None else unit


def load_catalogue(path: Path = BUNDLED, *, known_kb_ids: Collection[str] | None = None) -> Catalogue:
    """Read and validate `path`; with `known_kb_ids`, every `kb_items` id must be one of them."""
    try:
        doc = parse_yaml(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogueError(path, None, None, f"无法读取文件：{exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise CatalogueError(path, None, None, f"YAML 语法错误：{exc}", line) from None
    try:
        catalogue = Catalogue.model_validate(doc)
    except ValidationError as exc:
        raise _describe(path, doc, exc) from None
    seen: dict[str, int] = {}
    for i, unit in enumerate(catalogue.units):
        for key, what in ((unit.id, "id"), (unit.name, "name")):
            if key in seen:
                msg = f"{'编号' if what == 'id' else '名称'}重复：{key}（第 {seen[key] + 1} 个单位已使用）"
                raise CatalogueError(path, unit.id, what, msg, yaml_line(path, ("units", i, what)))
            seen[key] = i
        for j, item in enumerate(unit.kb_items):
            if known_kb_ids is not None and item not in known_kb_ids:
                line = yaml_line(path, ("units", i, "kb_items", j))
                raise CatalogueError(path, unit.id, "kb_items", f"知识库条目 {item} 不存在", line)
    return catalogue


def _describe(path: Path, doc: Any, exc: ValidationError) -> CatalogueError:
    err = exc.errors()[0]
    loc = tuple(err["loc"])
    unit: str | None = None
    field = [str(s) for s in loc]
    if len(loc) >= 2 and loc[0] == "units" and isinstance(loc[1], int):
        raw = (doc or {}).get("units") or [] if isinstance(doc, dict) else []
        item = raw[loc[1]] if loc[1] < len(raw) else None
        unit = str(item["id"]) if isinstance(item, dict) and item.get("id") else f"#{loc[1] + 1}"
        field = [str(s) for s in loc[2:]]
    msg = {"missing": "缺少必填字段", "extra_forbidden": "未知字段（拼写错误？）"}.get(
        err["type"], err["msg"]
    )
    return CatalogueError(path, unit, ".".join(field) or None, msg, yaml_line(path, loc))


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A unit the router proposes, how sure it is (0..1) and why, in words a dispatcher reads."""

    unit_id: str
    unit_name: str
    confidence: float
    reason: str


def _compact(text: str) -> str:
    """Normalised and without spaces, so “食品 经营” and “食品经营” match the same keyword."""
    return normalize(text).replace(" ", "")


@dataclass(frozen=True, slots=True)
class _Unit:
    spec: UnitSpec
    order: int
    local: bool  # street or town: duties count only where the place matches
    duties: tuple[tuple[str, str], ...]  # (compact keyword, keyword as written)
    places: tuple[tuple[str, str], ...]
    kb_items: frozenset[str]


class Router:
    """Suggests handling units for a petition from the catalogue's duties, places and kb links."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        units = []
        for i, spec in enumerate(catalogue.units):
            local = spec.kind != "department"
            words = (*catalogue.local_duties, *spec.duties) if local else spec.duties
            duties = tuple(dict.fromkeys((_compact(w), w) for w in words if _compact(w)))
            places = tuple((_compact(p), p) for p in (spec.name, *spec.places) if _compact(p))
            units.append(_Unit(spec, i, local, duties, places, frozenset(spec.kb_items)))
        self._units = tuple(units)

    @classmethod
    def load(cls, path: Path = BUNDLED, *, known_kb_ids: Collection[str] | None = None) -> Router:
        return cls(load_catalogue(path, known_kb_ids=known_kb_ids))

    def suggest(
        self, text: str, *, location: str | None = None, kb_hits: Sequence[str] = (), k: int = 3
    ) -> list[Suggestion]:
        """Up to `k` units, most likely first; empty when no evidence points anywhere.

        Ties (same score) go to the unit listed first in the catalogue, so the order is stable.
        """
        body = _compact(text)
        where = _compact(location) if location else ""
        places = {u.spec.id: _place(u, body, where) for u in self._units}
        hits = {
            u.spec.id: _duty_hits(u, body) if not u.local or places[u.spec.id] else [] for u in self._units
        }
        # Longest match wins across units too: “安全检查” inside a matched “营业前消防安全检查” is not
        # evidence for the unit that lists only the shorter word.
        matched = {kw for unit_hits in hits.values() for _, kw, _ in unit_hits}
        ranked: list[tuple[float, int, Suggestion]] = []
        for unit in self._units:
            own = [h for h in hits[unit.spec.id] if not any(h[1] != m and h[1] in m for m in matched)]
            scored = _score(unit, own, places[unit.spec.id], kb_hits)
            if scored is not None:
                total, reason = scored
                confidence = round(1.0 - math.exp(-total), 4)
                ranked.append(
                    (-total, unit.order, Suggestion(unit.spec.id, unit.spec.name, confidence, reason))
                )
        ranked.sort(key=lambda r: (r[0], r[1]))
        return [s for _, _, s in ranked[: max(k, 0)]]


Hit = tuple[float, str, str]  # (weight, compact keyword, keyword as written)


def _score(
    unit: _Unit, duty_hits: list[Hit], place: tuple[float, str] | None, kb_hits: Sequence[str]
) -> tuple[float, str] | None:
    """The unit's total evidence (strongest first, decayed) and the reason text; None without any."""
    weights: list[float] = []
    reasons: list[str] = []
    name = unit.spec.name
    if duty_hits:
        weights += [w for w, _, _ in duty_hits]
        said = "".join(f"“{kw}”" for _, _, kw in duty_hits[:SHOWN_KEYWORDS])
        reasons.append(f"诉求提到{said}，属于{name}{'属地管理事项' if unit.local else '职责'}")
    if place:
        weight, written = place
        weights.append(weight)
        reasons.append(f"地点在{name}辖区（“{written}”）")
    owned = [(rank, item) for rank, item in enumerate(kb_hits) if item in unit.kb_items]
    if owned:
        weights += [KB / (rank + 1) for rank, _ in owned]
        items = "、".join(item for _, item in owned[:SHOWN_KEYWORDS])
        reasons.append(f"匹配的知识库条目 {items} 由{name}负责")
    if not weights:
        return None
    total = sum(w * DECAY**i for i, w in enumerate(sorted(weights, reverse=True)))
    return total, "；".join(reasons)


def _place(unit: _Unit, body: str, where: str) -> tuple[float, str] | None:
    """The strongest place evidence for a street or town: its name or a place in the location/text."""
    if not unit.local:
        return None
    for compact, written in unit.places:
        if where and compact in where:
            return PLACE_IN_LOCATION, written
    for compact, written in unit.places:
        if compact in body:
            return PLACE_IN_TEXT, written
    return None


def _duty_hits(unit: _Unit, body: str) -> list[Hit]:
    """Each duty keyword found in `body` (exact, or near for longer keywords), strongest first.

    A keyword inside a longer keyword that also matched (食品 in 食品经营) is the same evidence
    and is dropped, so a unit does not win by listing near-synonyms.
    """
    hits: list[Hit] = []
    for compact, written in unit.duties:
        if compact in body:
            hits.append((EXACT, compact, written))
        elif len(compact) >= FUZZY_MIN_LEN:
            ratio = fuzz.partial_ratio(compact, body, score_cutoff=FUZZY_CUTOFF)
            if ratio:
                hits.append((NEAR * ratio / 100.0, compact, written))
    kept = [h for h in hits if not any(h[1] != o[1] and h[1] in o[1] for o in hits)]
    kept.sort(key=lambda h: (-h[0], -len(h[1])))
    return kept
