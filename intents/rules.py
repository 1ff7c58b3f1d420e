"""Keyword rules: load `intents/data/rules.yaml`, validate it, and apply it to a message.

The rules are data so that the district can tune them without touching code; this module
refuses a broken file loudly (naming the file, the rule and the field) because a silently
skipped rule would misroute emergencies or petitions. Nothing here does I/O after loading.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from intents.model import Intent, OutOfScopeReason, PetitionType
from knowledge.normalize import to_simplified
from knowledge.yamlio import parse_yaml

BUNDLED_RULES = "intents/data/rules.yaml"
_CLAUSE_BREAK = re.compile(r"[,.!?;:。、\s]")

Keyword = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


def normalize_text(text: str) -> str:
    """The one form rules are written against: NFKC (full-width → half-width), lower case,
    simplified script (a phone set to 繁體 types 著火), whitespace runs collapsed to one space.
    Punctuation stays: some rules and slot patterns read it."""
    return " ".join(to_simplified(unicodedata.normalize("NFKC", text).lower()).split())


class RuleFileError(ValueError):
    """A rules file that cannot be used; the message names the file, the rule and the field."""

    def __init__(self, source: str, message: str, *, rule: str | None = None, field: str | None = None):
        where = source
        if rule is not None:
            where += f": rule {rule!r}"
        if field is not None:
            where += f", field {field!r}" if rule is not None else f": field {field!r}"
        super().__init__(f"{where}: {message}")
        self.source, self.rule, self.field = source, rule, field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NegationSpec(_Strict):
    window: int = Field(ge=1, le=10)
    negators: tuple[Keyword, ...] = Field(min_length=1)
    fillers: tuple[Keyword, ...] = ()


class RuleSpec(_Strict):
    """One rule as written in the file."""

    id: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
    intent: Intent
    weight: float = Field(gt=0, le=1)
    priority: int = Field(ge=0, le=1000)
    keywords: tuple[Keyword, ...] = ()
    patterns: tuple[str, ...] = ()
    requires: tuple[tuple[Keyword, ...], ...] = ()
    excludes: tuple[Keyword, ...] = ()
    negatable: bool = True
    asks_procedure: bool = False
    petition_type: PetitionType | None = None
    out_of_scope_reason: OutOfScopeReason | None = None
    emergency_number: Literal["110", "119", "120", "122"] | None = None
    note: str = ""

    @field_validator("patterns")
    @classmethod
    def _patterns_compile(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for p in v:
            if unicodedata.normalize("NFKC", p) != p:
                raise ValueError(f"pattern {p!r} is not in NFKC form (write half-width punctuation)")
            try:
                re.compile(p)
            except re.error as e:
                raise ValueError(f"pattern {p!r} does not compile: {e}") from e
        return v

    @field_validator("requires")
    @classmethod
    def _groups_not_empty(cls, v: tuple[tuple[str, ...], ...]) -> tuple[tuple[str, ...], ...]:
        if any(not group for group in v):
            raise ValueError("every group in `requires` needs at least one keyword")
        return v


class _RuleFile(_Strict):
    version: Literal[1]
    strong_weight: float = Field(gt=0, le=1)
    negation: NegationSpec
    rules: tuple[dict[str, Any], ...] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class Rule:
    """A validated rule with its keywords normalised and its patterns compiled."""

    spec: RuleSpec
    keywords: tuple[str, ...]
    patterns: tuple[re.Pattern[str], ...]
    requires: tuple[tuple[str, ...], ...]
    excludes: tuple[str, ...]
    # Any keyword at all, as one regex: most rules do not fire on most messages, and one search
    # rules that out faster than a `find` per keyword (the negation-aware scan runs only after).
    trigger: re.Pattern[str] | None


@dataclass(frozen=True, slots=True)
class RuleHit:
    """A rule that fired, with the text that made it fire (for the `reason` trace)."""

    rule: Rule
    evidence: str


@dataclass(frozen=True, slots=True)
class RuleSet:
    """All rules of one file; `fire` is pure and expects `normalize_text` output."""

    rules: tuple[Rule, ...]
    strong_weight: float
    negation: re.Pattern[str]
    window: int
    source: str

    def fire(self, text: str) -> tuple[RuleHit, ...]:
        """Every rule that fires on `text`, best first: priority, then weight, then file order."""
        hits = [h for r in self.rules if (h := self._try(r, text)) is not None]
        return tuple(sorted(hits, key=lambda h: (-h.rule.spec.priority, -h.rule.spec.weight)))

    def is_strong(self, hit: RuleHit) -> bool:
        return hit.rule.spec.weight >= self.strong_weight

    def _try(self, rule: Rule, text: str) -> RuleHit | None:
        evidence = self._evidence(rule, text)
        if evidence is None or any(x in text for x in rule.excludes):
            return None
        if not all(any(k in text for k in group) for group in rule.requires):
            return None
        return RuleHit(rule, evidence)

    def _evidence(self, rule: Rule, text: str) -> str | None:
        if rule.trigger is not None and rule.trigger.search(text) is not None:
            for kw in rule.keywords:  # in file order: the first keyword listed is the evidence
                start = text.find(kw)
                while start != -1:
                    if not (rule.spec.negatable and self._negated(text, start)):
                        return kw
                    start = text.find(kw, start + 1)
        for pattern in rule.patterns:
            for m in pattern.finditer(text):
                if not (rule.spec.negatable and self._negated(text, m.start())):
                    return m.group(0)
        return None

    def _negated(self, text: str, start: int) -> bool:
        """True when the clause just before `start` ends with a negator (不是投诉, 没有人受伤)."""
        before = text[max(0, start - self.window) : start]
        before = _CLAUSE_BREAK.split(before)[-1]
        return self.negation.search(before) is not None


def _alternation(words: tuple[str, ...]) -> str:
    ordered = sorted({normalize_text(w) for w in words}, key=len, reverse=True)
    return "|".join(re.escape(w) for w in ordered)


def _compile_negation(spec: NegationSpec) -> re.Pattern[str]:
    fillers = f"(?:{_alternation(spec.fillers)})?" if spec.fillers else ""
    return re.compile(f"(?:{_alternation(spec.negators)}){fillers}$")


def _field_of(error: ValidationError) -> tuple[str, str]:
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "<rule>"
    value = first.get("input")
    if isinstance(value, str | int | float) and first["type"] != "missing":
        return field, f"{first['msg']} (got {str(value)[:60]!r})"
    return field, first["msg"]


def _check_consistency(spec: RuleSpec) -> tuple[str, str] | None:
    """Cross-field checks, returned as (field, message) so the error can name the field."""
    if not spec.keywords and not spec.patterns:
        return "keywords", "a rule needs at least one of `keywords` or `patterns`"
    if spec.petition_type is not None and spec.intent is not Intent.PETITION:
        return "petition_type", "only petition rules may set `petition_type`"
    if (spec.out_of_scope_reason is None) == (spec.intent is Intent.OUT_OF_SCOPE):
        return "out_of_scope_reason", "required for out_of_scope rules and only for them"
    emergency = spec.out_of_scope_reason is OutOfScopeReason.EMERGENCY
    if (spec.emergency_number is None) == emergency:
        return "emergency_number", "required for emergency rules and only for them"
    return None


def _compile_rule(spec: RuleSpec) -> Rule:
    def norm(words: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(normalize_text(w) for w in words)

    keywords = norm(spec.keywords)
    return Rule(
        spec=spec,
        keywords=keywords,
        patterns=tuple(re.compile(p, re.IGNORECASE) for p in spec.patterns),
        requires=tuple(norm(group) for group in spec.requires),
        excludes=norm(spec.excludes),
        trigger=re.compile(_alternation(keywords)) if keywords else None,
    )


def parse_rules(text: str, source: str) -> RuleSet:
    """Validate and compile rules from YAML text; `source` names the file in errors."""
    try:
        raw = parse_yaml(text)
    except yaml.YAMLError as e:
        raise RuleFileError(source, f"not valid YAML: {e}") from e
    if not isinstance(raw, dict):
        raise RuleFileError(source, "expected a mapping with `version`, `strong_weight`, `negation`, `rules`")
    try:
        header = _RuleFile.model_validate(raw)
    except ValidationError as e:
        field, msg = _field_of(e)
        raise RuleFileError(source, msg, field=field) from e
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, item in enumerate(header.rules):
        name = str(item.get("id", f"#{i + 1}"))
        try:
            spec = RuleSpec.model_validate(item)
        except ValidationError as e:
            field, msg = _field_of(e)
            raise RuleFileError(source, msg, rule=name, field=field) from e
        problem = _check_consistency(spec)
        if problem is not None:
            raise RuleFileError(source, problem[1], rule=name, field=problem[0])
        if spec.id in seen:
            raise RuleFileError(source, "duplicate rule id", rule=name, field="id")
        seen.add(spec.id)
        rules.append(_compile_rule(spec))
    return RuleSet(
        rules=tuple(rules),
        strong_weight=header.strong_weight,
        negation=_compile_negation(header.negation),
        window=header.negation.window,
        source=source,
    )


def load_rules(path: str | Path | None = None) -> RuleSet:
    """Load a rules file; without `path`, the bundled `intents/data/rules.yaml`."""
    if path is None:
        text = resources.files("intents").joinpath("data", "rules.yaml").read_text(encoding="utf-8")
        return parse_rules(text, BUNDLED_RULES)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise RuleFileError(str(path), f"cannot be read: {e.strerror}") from e
    return parse_rules(text, str(path))


@cache
def default_rules() -> RuleSet:
    """The bundled rules, loaded once per process."""
    return load_rules()
