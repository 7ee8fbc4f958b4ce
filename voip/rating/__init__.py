"""The VoIP rating core (shared/voip-rating.md): pure computation, no models and no database.

- provisioning.telephony.numbers.Normaliser: a dialled number → E.164 digits, internal or invalid (step 2; it
  sits on the provisioning floor because the provider modules normalise the numbers of their CDRs too);
- deck.Rate / deck.Deck: prefix rates and the longest-prefix index (step 3); deck_file.read_deck reads CSV;
- engine: eligibility, billable seconds, cost (steps 1, 4, 5) and Rater, which rates one call;
- offline.rate_file: a CDR file in, a rated CSV out (`manage.py rate_cdrs`).
"""
from .deck import Deck, PrefixIndex, Rate
from .engine import (
    AFTER_MINIMUM, IGNORED, INCREMENT_MODES, INVALID, RATED, STATUSES, UNRATED, WHOLE_DURATION, Rater, RatingResult,
    billable_seconds, cost_units, precise_cost, quantize_cost,
)

__all__ = [
    "AFTER_MINIMUM", "IGNORED", "INCREMENT_MODES", "INVALID", "RATED", "STATUSES", "UNRATED", "WHOLE_DURATION",
    "Deck", "PrefixIndex", "Rate", "Rater", "RatingResult", "billable_seconds", "cost_units", "precise_cost",
    "quantize_cost",
]
