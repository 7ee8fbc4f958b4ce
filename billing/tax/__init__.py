"""The tax engine (docs/tax.md): rules lookup for batches (treatment.RuleBook), the EU VAT decision
(treatment.decide), the arithmetic (compute.compute), what an invoice stores (documents), credit notes' share of
an invoice's breakdown (credit.py) and the tax report (report.py). Every path that totals an invoice — issuing,
orders' quotes, editing, splitting — goes through here."""
