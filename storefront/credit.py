"""Credit at checkout is the client's choice, and credit that prepaid calls need is not spent silently.

The checkout shows the credit that may be spent and asks whether to use it (the default is the client's saved
preference). When using it would bring the credit to or below the client's low-balance threshold, or would make
the VoIP autosuspend sweep suspend the client's prepaid VoIP services (voip.services.autosuspend's own rule:
credit at or below zero, or unpaid invoices above the credit), the checkout says so and applies the credit only
when the client confirms."""
from dataclasses import dataclass, field
from decimal import Decimal

from billing.models import Service
from portal.models import Client
from portal.money import ZERO, format_money, spendable
from voip.services.autosuspend import POSTPAID, VOIP, dues_and_overdue, gate, suspension_reason


@dataclass
class CreditAdvice:
    available: Decimal
    to_use: Decimal
    default_use: bool
    warnings: list = field(default_factory=list)

    @property
    def needs_confirmation(self):
        return bool(self.warnings)


def _has_prepaid_voip(client):
    return (Service.objects.filter(VOIP, gate(), client=client, status=Service.Status.ACTIVE)
            .exclude(POSTPAID).exists())


def credit_advice(client, total):
    """What the checkout says about paying `total` from the client's credit (two or three queries)."""
    available = spendable(client.credit_balance, client.currency)
    to_use = max(min(available, total), ZERO)
    advice = CreditAdvice(available, to_use, client.apply_credit_to_invoices)
    if to_use <= 0:
        return advice
    after = client.credit_balance - to_use
    money = format_money(after, client.currency, spendable=True)
    threshold = client.low_balance_threshold
    if threshold is not None and after <= threshold:
        advice.warnings.append(
            f"Using {to_use} {client.currency} of credit leaves {money} {client.currency}, at or below your "
            f"low-balance threshold of {threshold} {client.currency}.")
    if _has_prepaid_voip(client):
        due = dues_and_overdue([client.pk]).get(client.pk, (ZERO, ZERO))[0]
        automatic = Client.VoipSuspended.NONE
        if not suspension_reason(False, automatic, client.credit_balance, due) and suspension_reason(False, automatic, after, due):
            advice.warnings.append(
                f"Your VoIP service pays for calls from this credit: with {money} {client.currency} left it would be "
                "suspended automatically until you add funds.")
    return advice
