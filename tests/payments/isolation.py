"""Client-area URL keywords of payments for tests/portal/test_isolation.py: {kwarg: f(owner) -> value}."""

OBJECT_KWARGS = {"gateway": lambda owner: "stripe"}
