"""portal.querysets.seek_rows: a large result read in key order, a batch at a time (bounded memory)."""
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.models import ActivityLog
from portal.querysets import seek_rows

pytestmark = pytest.mark.django_db

START = datetime(2026, 11, 1, tzinfo=UTC)


def log_rows(n):
    """n audit rows, three to a timestamp: the order's first key repeats, only the id breaks the tie."""
    ActivityLog.objects.bulk_create(
        ActivityLog(created_at=START + timedelta(minutes=i // 3), actor_type="system", actor_label="tests",
                    action=f"test.{i % 4}", message=f"row {i}") for i in range(n)
    )


@pytest.mark.parametrize("order", [("-created_at", "-id"), ("created_at", "id"), ("-created_at", "id")])
def test_every_row_once_in_the_order_with_ties_across_batches(order):
    log_rows(23)
    rows = ActivityLog.objects.filter(action__in=["test.0", "test.1", "test.3"])
    expected = list(rows.order_by(*order).values_list("message", "action"))
    assert list(seek_rows(rows, order=order, columns=("message", "action"), batch_size=4)) == expected
    assert len(expected) == 17  # 23 rows, action test.2 left out


def test_one_query_per_batch_never_the_whole_result_at_once():
    log_rows(20)
    with CaptureQueriesContext(connection) as queries:
        rows = list(seek_rows(ActivityLog.objects.all(), order=("-created_at", "-id"), columns=("id",), batch_size=6))
    assert len(rows) == 20
    assert len(queries) == 4  # 6 + 6 + 6 + 2: the last, short batch ends it
    assert all("LIMIT 6" in query["sql"] and "OFFSET" not in query["sql"] for query in queries.captured_queries)


def test_an_exact_multiple_of_the_batch_ends_with_an_empty_batch():
    log_rows(8)
    with CaptureQueriesContext(connection) as queries:
        assert len(list(seek_rows(ActivityLog.objects.all(), order=("id",), columns=("id",), batch_size=4))) == 8
    assert len(queries) == 3
