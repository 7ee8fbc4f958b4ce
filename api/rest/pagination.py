from rest_framework import pagination
from rest_framework.utils.urls import replace_query_param

from portal.admin_paging import bounded_count, unfiltered_estimate


class Pagination(pagination.LimitOffsetPagination):
    """?limit=&offset=; the body has count, next, previous and results.

    On tables of millions of rows a COUNT(*) per page costs more than the page (1 s for the audit log's two
    million rows): an unfiltered list past 10,000 rows gives the table's row estimate as `count`, with
    `count_estimated: true`; a filtered list is counted exactly. `next` never depends on the count: the page is
    read one row longer, and `next` is there exactly when that extra row is (docs/api.md)."""

    default_limit = 25
    max_limit = 500
    count_estimated = False
    exact_up_to = 10_000

    def get_count(self, queryset):
        counted = bounded_count(queryset, self.exact_up_to)
        if counted <= self.exact_up_to:
            return counted
        estimate = unfiltered_estimate(queryset, counted)
        self.count_estimated = estimate is not None
        return estimate if self.count_estimated else queryset.count()

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.limit = self.get_limit(request)
        if self.limit is None:
            return None
        self.offset = self.get_offset(request)
        self.count = self.get_count(queryset)
        rows = list(queryset[self.offset: self.offset + self.limit + 1])
        self.has_more = len(rows) > self.limit
        return rows[: self.limit]

    def get_next_link(self):
        if not self.has_more:
            return None
        url = replace_query_param(self.request.build_absolute_uri(), self.limit_query_param, self.limit)
        return replace_query_param(url, self.offset_query_param, self.offset + self.limit)

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        if self.count_estimated:
            response.data["count_estimated"] = True
        return response
