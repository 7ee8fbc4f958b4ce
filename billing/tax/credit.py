"""What a credit note takes back of an invoice: its share of the lines and of the tax breakdown (docs/tax.md,
*Credit notes*). All figures here are positive; the credit note stores them negated.

- The last credit note of an invoice (it brings what is credited up to the invoice's total) takes exactly what
  is left of each line and each tax line: so a full refund's note is exactly the invoice in negative, and the
  notes of an invoice never add up to a cent more or less than it.
- A partial one takes the fraction f = gross ÷ what is left: each tax line's tax and base × f, rounded half up;
  the net is the gross less that tax, so net + tax = gross exactly; the lines are scaled by f too and the
  rounding difference goes to the largest line, so they add up to the net (or, for tax-inclusive prices, to
  the gross) as the invoice's lines do."""
from dataclasses import dataclass

from portal.money import ZERO, quantize


@dataclass
class Share:
    items: list  # (invoice item, amount)
    tax_lines: list  # (invoice tax line, base, tax)
    net: object
    tax: object
    gross: object


def credit_share(*, items, tax_lines, gross, left, inclusive):
    """`items`: [(invoice item, amount not yet credited)]; `tax_lines`: [(invoice tax line, base left, tax left)];
    `gross`: what to credit; `left`: the invoice's total not yet credited (gross ≤ left)."""
    if gross == left:
        tax = sum((t for _, _, t in tax_lines), ZERO)
        return Share(list(items), list(tax_lines), gross - tax, tax, gross)
    fraction = gross / left
    shared_lines = [(line, quantize(base * fraction), quantize(tax * fraction)) for line, base, tax in tax_lines]
    tax = sum((t for _, _, t in shared_lines), ZERO)
    net = gross - tax
    target = gross if inclusive else net
    shared_items = [(item, quantize(amount * fraction)) for item, amount in items]
    difference = target - sum((amount for _, amount in shared_items), ZERO)
    if difference and shared_items:
        largest = max(range(len(shared_items)), key=lambda i: abs(items[i][1]))
        item, amount = shared_items[largest]
        shared_items[largest] = (item, amount + difference)
    return Share(shared_items, shared_lines, net, tax, gross)
