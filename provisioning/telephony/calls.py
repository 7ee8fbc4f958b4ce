"""What a call is on every floor: the directions a call is rated in, and the longest duration accepted."""

OUTBOUND = "outbound"
INBOUND = "inbound"
DIRECTIONS = (OUTBOUND, INBOUND)

MAX_SECONDS = 10_000_000  # about 115 days: larger durations are data errors
