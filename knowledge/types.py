"""Result vocabulary of question matching, shared by `knowledge`, `intents` and `bot`.

A leaf module: no imports from the rest of the project.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Grade(StrEnum):
    """How sure the matcher is; decides what the bot does next."""

    ANSWER = "answer"  # confident: reply with the entry and its source
    CLARIFY = "clarify"  # unsure: offer up to three "did you mean" choices
    NONE = "none"  # nothing fits: offer to file a petition or reach a person


@dataclass(frozen=True, slots=True)
class Hit:
    """One knowledge-base entry that matched a question."""

    entry_id: str
    score: float  # match strength in [0, 1]; the grade comes from thresholds fitted on data
    title: str = ""  # the entry's question / title as shown in "did you mean"
    kind: str = ""  # "faq" | "policy" | "service_item" | "" (imported rows)
    matched_text: str = ""  # the indexed phrasing that matched best


@dataclass(frozen=True, slots=True)
class Match:
    """The graded outcome of matching one question against the knowledge base."""

    grade: Grade
    hits: tuple[Hit, ...] = field(default_factory=tuple)
    query: str = ""  # the question as normalised

    @property
    def best(self) -> Hit | None:
        return self.hits[0] if self.hits else None

    def choices(self, n: int = 3) -> tuple[Hit, ...]:
        """The "did you mean" choices: the top `n` hits."""
        return self.hits[:n]
