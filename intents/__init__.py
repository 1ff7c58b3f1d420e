"""Intent classification and slot extraction for 易企办 messages.

`classify(text, matcher)` tells the bot what a message wants (policy question, service guide,
petition, order status, …) and which facts it mentions; keyword rules live in
`intents/data/rules.yaml`, the knowledge base is reached through `KnowledgeMatcher`.
"""

from intents.classifier import KnowledgeMatcher, classify
from intents.credit_code import credit_code_check_char, is_valid_credit_code
from intents.model import EMERGENCY_NUMBERS, Intent, IntentResult, OutOfScopeReason, PetitionType, Slots
from intents.rules import RuleFileError, RuleSet, default_rules, load_rules, normalize_text
from intents.slots import extract_slots, mask_phone

__all__ = [
    "EMERGENCY_NUMBERS",
    "Intent",
    "IntentResult",
    "KnowledgeMatcher",
    "OutOfScopeReason",
    "PetitionType",
    "RuleFileError",
    "RuleSet",
    "Slots",
    "classify",
    "credit_code_check_char",
    "default_rules",
    "extract_slots",
    "is_valid_credit_code",
    "load_rules",
    "mask_phone",
    "normalize_text",
]
