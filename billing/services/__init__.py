"""Billing writes. Each public function is atomic, keyword-only, audits with the acting Actor, and takes its
row locks in one order (client, then invoice, then service, then the invoice number sequence) so that two
writers never deadlock. Modules: ledger (credit), invoices, payments, generation (recurring invoices),
orders, changes (upgrades/downgrades with proration), cancellation."""
