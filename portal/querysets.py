"""Reading a large result in bounded memory.

QuerySet.iterator() does not bound memory on MariaDB/MySQL: the driver (mysqlclient) reads the whole result
into the client before the first row is handed over (Django's documentation of iterator() says as much), so a
year of a big VoIP client's calls would sit in the web process at once. `seek_rows` reads the rows in key order
a batch at a time instead, each batch starting after the last row of the one before (keyset pagination: every
batch is an index range, never an OFFSET), so memory holds one batch whatever the result's size.
"""
from functools import reduce

from django.db.models import Q


def seek_rows(queryset, *, order, columns, batch_size=2000):
    """Rows of `queryset.values_list(*columns)` in `order` (field names, "-" for descending; together unique,
    e.g. ("-answer_time", "-id"), none of them NULL), fetched `batch_size` at a time."""
    keys = [name.lstrip("-") for name in order]
    descending = [name.startswith("-") for name in order]
    ordered = queryset.order_by(*order).values_list(*columns, *keys)
    width = len(columns)
    last = None
    while True:
        batch = list((ordered.filter(_after(keys, descending, last)) if last else ordered)[:batch_size])
        for row in batch:
            yield row[:width]
        if len(batch) < batch_size:
            return
        last = batch[-1][width:]


def _after(keys, descending, last):
    """The rows after `last` in the order: (k1 past v1) or (k1 = v1 and k2 past v2) or …"""
    def past(key, is_descending, value):
        return Q(**{f"{key}__{'lt' if is_descending else 'gt'}": value})

    branches = []
    for position, (key, is_descending, value) in enumerate(zip(keys, descending, last)):
        equal = [Q(**{keys[n]: last[n]}) for n in range(position)]
        branches.append(reduce(lambda left, right: left & right, equal, past(key, is_descending, value)))
    return reduce(lambda left, right: left | right, branches)
