"""REST list paging on big tables (api.rest.pagination): no COUNT(*) over the whole table past 10,000 rows, and
`next` exactly when there is a next row, whatever the count says."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from api.rest.pagination import Pagination
from portal.activity import Actor, log_activity
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_limit(monkeypatch):
    monkeypatch.setattr(Pagination, "exact_up_to", 3)


def log(n):
    for _ in range(n):
        log_activity(actor=Actor.system("test"), action="test.paging", message="x")


def test_an_unfiltered_list_past_the_limit_is_not_counted_whole(rest, small_limit):
    rest.get("products/")  # the key's first use of the minute records last_used_at
    log(7)
    with CaptureQueriesContext(connection) as queries:
        body = rest.get("activity/?limit=2").json()
    counts = [query["sql"] for query in queries.captured_queries if "COUNT(" in query["sql"].upper()]
    assert counts and all("LIMIT 4" in sql for sql in counts), counts
    assert body["count_estimated"] is True and body["count"] >= 4
    assert len(body["results"]) == 2 and "offset=2" in body["next"]


def test_next_follows_the_rows_not_the_count(rest, small_limit):
    log(7)
    seen, path = [], "activity/?limit=3"
    while path:
        body = rest.get(path).json()
        seen += [row["id"] for row in body["results"]]
        path = body["next"] and body["next"].split("/api/v1/", 1)[1]
    assert len(seen) == len(set(seen)) >= 7
    last = rest.get(f"activity/?limit=3&offset={len(seen) - 3}").json()
    assert last["next"] is None


def test_a_small_or_filtered_list_is_counted_exactly(rest, small_limit):
    ClientFactory.create_batch(5, status="active")
    ClientFactory(status="inactive")
    body = rest.get("clients/?limit=2&status=active").json()
    assert body["count"] == 5 and "count_estimated" not in body
    log(2)
    body = rest.get("activity/?limit=50").json()
    assert body["count"] == len(body["results"]) <= 3 and "count_estimated" not in body
