from rest_framework import pagination


class Pagination(pagination.LimitOffsetPagination):
    """?limit=&offset=; the body has count, next, previous and results."""

    default_limit = 25
    max_limit = 500
