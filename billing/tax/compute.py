"""The arithmetic of tax, with no database: lines and levels in, net + tax lines + gross out (docs/tax.md).

- Exclusive prices (the default): a line's amount is net. Level 1 tax = base × rate; level 2 is charged on the
  same base, or, when it compounds, on the base plus the level 1 tax (as rounded).
- Inclusive prices: a line's amount is gross, what the client pays. Net = gross ÷ (1 + r1 + r2), or
  ÷ (1 + r1)(1 + r2) when level 2 compounds; level 1 = net × r1; the last level takes what is left, so
  net + tax is exactly the gross that was entered.
- Rounding (half up, to the cent): "invoice" rounds each level once, on the invoice's taxable total; "line"
  rounds each line's tax and adds the rounded figures up.
Untaxed lines add to the net and carry no tax. Always: net + Σ tax = gross."""
from dataclasses import dataclass, field
from decimal import Decimal

from portal.money import ZERO, quantize

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Level:
    """A rate that applies: from a tax rule, a stored tax line, or the reverse charge (rate 0)."""

    level: int
    name: str
    rate: Decimal
    compound: bool = False
    country: str = ""
    region: str = ""


@dataclass(frozen=True)
class TaxAmount:
    """One level's figures on a document."""

    level: Level
    base: Decimal
    tax: Decimal


@dataclass
class TaxResult:
    net: Decimal
    tax: Decimal
    gross: Decimal
    lines: list = field(default_factory=list)  # TaxAmount per level, level order

    def rate(self, level):
        return next((line.level.rate for line in self.lines if line.level.level == level), Decimal("0.000"))


def _levels_tax(amount, levels, inclusive):
    """(net, [(base, tax) per level]) of one taxable amount, each tax rounded once."""
    first, second = (levels + [None, None])[:2]
    r1 = first.rate / HUNDRED if first else ZERO
    r2 = second.rate / HUNDRED if second else ZERO
    compound = bool(second and second.compound)
    if inclusive:
        divisor = (1 + r1) * (1 + r2) if compound else 1 + r1 + r2
        net = quantize(amount / divisor)
    else:
        net = amount
    figures = []
    tax1 = quantize(net * r1) if first else ZERO
    if first:
        figures.append([net, tax1])
    if second:
        base2 = net + tax1 if compound else net
        figures.append([base2, quantize(base2 * r2)])
    if inclusive and figures:  # the last level takes the remainder: net + tax = the gross entered
        figures[-1][1] = amount - net - sum(tax for _, tax in figures[:-1])
    return net, figures


def compute(lines, levels, *, inclusive=False, per_line=False):
    """`lines`: (amount, taxable) pairs; `levels`: the Levels that apply (at most one per level number).
    Returns the TaxResult with a TaxAmount for every level, even one with nothing to tax (its base is 0), so a
    document keeps the rates it was issued with."""
    levels = sorted(levels, key=lambda lvl: lvl.level)
    if len({lvl.level for lvl in levels}) != len(levels):
        raise ValueError("At most one rate per level.")
    pairs = [(Decimal(amount), bool(taxable)) for amount, taxable in lines]
    untaxed = sum((amount for amount, taxable in pairs if not taxable or not levels), ZERO)
    taxed = [amount for amount, taxable in pairs if taxable and levels]
    groups = taxed if per_line else ([sum(taxed, ZERO)] if taxed else [])
    net, totals = untaxed, [[ZERO, ZERO] for _ in levels]
    for amount in groups:
        if not per_line and amount <= 0:  # a credit balance of lines (discounts) is not taxed negatively
            net += amount
            continue
        group_net, figures = _levels_tax(amount, levels, inclusive)
        net += group_net
        for total, (base, tax) in zip(totals, figures):
            total[0] += base
            total[1] += tax
    tax_lines = [TaxAmount(lvl, base, tax) for lvl, (base, tax) in zip(levels, totals)]
    tax = sum((line.tax for line in tax_lines), ZERO)
    return TaxResult(net=net, tax=tax, gross=net + tax, lines=tax_lines)


