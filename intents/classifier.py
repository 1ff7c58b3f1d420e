"""Decide what a message is about: keyword rules first, the knowledge base second.

Order matters for safety and for the hotline's rules: an emergency, a lawsuit or a 信访 matter
must be referred elsewhere whatever else the message says, so strong rules are checked before
the knowledge base is asked. The knowledge base then separates real questions ("投诉一般几天
办结") from petitions, which need the user to state a problem of their own.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from intents.model import Intent, IntentResult, Slots
from intents.rules import RuleHit, RuleSet, default_rules, normalize_text
from intents.slots import extract_slots
from knowledge.types import Grade, Match

_KB_INTENTS = frozenset({Intent.CONSULT_POLICY, Intent.SERVICE_GUIDE})


class KnowledgeMatcher(Protocol):
    """Anything that grades a question against the knowledge base (`knowledge.matcher.Matcher`)."""

    def match(self, text: str) -> Match: ...


def _from_rule(hit: RuleHit, slots: Slots, why: str, match: Match | None = None) -> IntentResult:
    spec = hit.rule.spec
    return IntentResult(
        intent=spec.intent,
        confidence=spec.weight,
        reason=f"{why} rule {spec.id} matched {hit.evidence!r}",
        slots=slots,
        petition_type=spec.petition_type,
        out_of_scope_reason=spec.out_of_scope_reason,
        emergency_number=spec.emergency_number,
        match=match,
    )


def _from_kb(match: Match, hits: tuple[RuleHit, ...], slots: Slots) -> IntentResult:
    """A question the KB answers (or nearly): policy/FAQ → consult, service item or a
    how/where/which-papers question → service guide."""
    best = match.best
    kind = best.kind if best is not None else ""
    asks_procedure = next((h for h in hits if h.rule.spec.asks_procedure), None)
    policy_cue = next((h for h in hits if h.rule.spec.intent is Intent.CONSULT_POLICY), None)
    if kind == "faq" and asks_procedure is not None and policy_cue is not None:
        # "补贴怎么领": how to claim a benefit is a policy question, not a service procedure.
        intent = Intent.CONSULT_POLICY
        why = f"faq about a policy (rule {policy_cue.rule.spec.id} matched {policy_cue.evidence!r})"
    elif kind == "service_item":
        intent, why = Intent.SERVICE_GUIDE, "best hit is a service item"
    elif kind == "policy":
        intent, why = Intent.CONSULT_POLICY, "best hit is a policy"
    elif asks_procedure is not None:
        intent = Intent.SERVICE_GUIDE
        why = f"asks a procedure (rule {asks_procedure.rule.spec.id} matched {asks_procedure.evidence!r})"
    else:
        intent, why = Intent.CONSULT_POLICY, f"best hit kind {kind or 'unset'!r}"
    entry = f" {best.entry_id} score={best.score:.2f}" if best is not None else ""
    return IntentResult(
        intent=intent,
        confidence=best.score if best is not None else 0.0,
        reason=f"kb {match.grade.value}{entry}: {why}",
        slots=slots,
        match=match,
    )


def classify(
    text: str,
    matcher: KnowledgeMatcher | None = None,
    *,
    today: dt.date | None = None,
    rules: RuleSet | None = None,
) -> IntentResult:
    """Classify one message and extract its slots.

    `matcher` is consulted only when no strong rule decides; with `matcher=None` weak rules
    (topic cues) decide alone. `today` resolves relative dates in the slots; `rules` replaces
    the bundled rule file (tests, tuning).
    """
    slots = extract_slots(text, today=today)
    normalized = normalize_text(text)
    if not normalized:
        return IntentResult(Intent.UNKNOWN, 0.0, "empty message", slots)
    ruleset = rules if rules is not None else default_rules()
    hits = ruleset.fire(normalized)
    strong = [h for h in hits if ruleset.is_strong(h)]
    if strong:
        return _from_rule(strong[0], slots, "strong")
    if matcher is None:
        if hits:
            return _from_rule(hits[0], slots, "no matcher; weak")
        return IntentResult(Intent.UNKNOWN, 0.0, "no rule fired; no matcher", slots)
    match = matcher.match(text)
    if match.grade is not Grade.NONE:
        return _from_kb(match, hits, slots)
    fallback = next((h for h in hits if h.rule.spec.intent not in _KB_INTENTS), None)
    if fallback is not None:
        return _from_rule(fallback, slots, "kb none; weak", match)
    return IntentResult(Intent.UNKNOWN, 0.0, "kb none; no petition rule fired", slots, match=match)
