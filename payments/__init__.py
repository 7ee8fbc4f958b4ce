"""Payments: clients pay online (gateways in payments/gateways/<name>/) and by bank transfer (payments/bank/).
A floor above voip and below api (docs/architecture.md): it only ever calls billing's services to record money."""
