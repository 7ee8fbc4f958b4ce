"""Invoice handling when the automation terminates a service (seed 001, "Invoice Handling").

- An unpaid invoice whose only line is the terminated service's becomes Cancelled.
- An unpaid invoice with several lines: the terminated service's lines move to a new invoice, with no number,
  created Cancelled; the original keeps its number and its totals are recomputed (money it already received
  beyond its new total goes to the client's credit).

The billing engine's `cancel_unpaid_items` does exactly this (cancellation requests use it too); this module
is the automation's entry point to it. Paid, cancelled and refunded invoices are never touched.
"""
from billing.services.invoices import cancel_unpaid_items


def handle_terminated_service_invoices(*, service, actor):
    """Run inside the transaction that terminated `service`, with the client's row locked (lock_client)."""
    return cancel_unpaid_items(service_ids=[service.pk], actor=actor, reason=f"{service.domain} terminated")
