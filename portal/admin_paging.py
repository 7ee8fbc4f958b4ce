"""Staff lists of tables with millions of rows (call records, the audit log, invoices, services) without a
`COUNT(*)` over the whole table on every page view (docs/benchmarks.md, *Load test*).

Django's changelist counts the filtered rows to number its pages: on InnoDB a COUNT(*) reads a whole index,
some 0.2 s per million rows, on every view of the list. LargeTablePaginator counts at most EXACT_UP_TO rows
(a COUNT over a LIMITed subquery, which stops there). Past that:
- an unfiltered list takes the table's row estimate from the database's statistics (MariaDB/MySQL
  information_schema.TABLES, PostgreSQL pg_class), so every page stays reachable;
- a filtered or searched list says "more than 10,000" and pages through the first 10,000 rows: narrow the
  search, or use the date drill-down, to reach older rows.
The page shown is always exact: only the number of pages is estimated.
"""
from functools import cached_property, reduce
from operator import or_

from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Q
from django.utils.html import format_html
from django.utils.translation import gettext as _

from portal.models import Client

EXACT_UP_TO = 10_000
CLIENT_SEARCH_LIMIT = 1_000  # clients a search matches at most through client_search_fields


def bounded_count(queryset, up_to):
    """The rows of `queryset`, counted up to `up_to` + 1 at most (a COUNT over a LIMITed subquery of the key
    alone, not the list's annotations)."""
    return queryset.order_by().values("pk")[: up_to + 1].count()


def unfiltered_estimate(queryset, counted):
    """For a count past the exact limit: the table's statistics when `queryset` is the whole table, else None."""
    if queryset.query.has_filters():
        return None
    return max(table_row_estimate(queryset.model, queryset.db) or 0, counted)


class LargeTablePaginator(Paginator):
    exact_up_to = EXACT_UP_TO
    estimated = False

    @cached_property
    def count(self):
        queryset = self.object_list
        bounded = bounded_count(queryset, self.exact_up_to)
        self.estimated = bounded > self.exact_up_to
        if not self.estimated:
            return bounded
        return unfiltered_estimate(queryset, bounded) or self.exact_up_to  # filtered: the first rows, in pages


def table_row_estimate(model, alias):
    """The database's own estimate of the rows in `model`'s table (kept by ANALYZE and InnoDB's sampling), or
    None where the database keeps none (SQLite)."""
    connection = connections[alias]
    table = model._meta.db_table
    if connection.vendor == "mysql":
        sql = "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s"
    elif connection.vendor == "postgresql":
        sql = "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass"
    else:
        return None
    with connection.cursor() as cursor:
        cursor.execute(sql, [table])
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] and row[0] > 0 else None


class RowLinksKeepFiltersChangeList(ChangeList):
    """Each row's link carries the list's filters (so that saving returns to the filtered list), as Django's
    does, but put on once here: Django adds them row by row with `add_preserved_filters`, which resolves each
    row's URL against every URL pattern to see whether it is the list's own — it never is for a row, and that
    took 20 ms of a filtered 50-row page."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.row_link_filters, self.preserved_filters = self.preserved_filters, ""

    def url_for_result(self, result):
        url = super().url_for_result(result)
        return f"{url}?{self.row_link_filters}" if self.row_link_filters else url


class LargeTableAdmin:
    """Mixed into the ModelAdmin of a changelist over a table that grows without bound:
    - pages of 50 rows, and the rows' checkboxes written without the template engine;
    - LargeTablePaginator, no second count of the unfiltered table ("N total"), no "Show all" (every row);
    - the page's query joins nothing: related rows named in `list_prefetch_related` come in one query each
      for the page. With joins, MariaDB's planner often starts from the small joined table and sorts the whole
      big one to find a page (measured: 1.3 s for 100 services, 40 s for 100 call records); alone, the table is
      read in its index order and stops after the page."""

    paginator = LargeTablePaginator
    # 50 rows, not Django's 100: most of such a page's time is rendering its rows (each row's cells, links and
    # checkbox), so 50 halves it (docs/benchmarks.md, *Load test*).
    list_per_page = 50
    show_full_result_count = False
    list_max_show_all = 0
    list_select_related = ()  # empty, not False: False would let Django join every related field it shows
    list_prefetch_related = ()
    #: Searched instead of search_fields when the search is a number (an id): exact matches on indexed
    #: columns, so that looking up a client's or a service's rows never reads the whole table.
    number_search_fields = ()
    #: Client fields a search also matches, through the ids of the matching clients (the client table is small)
    #: instead of a join that makes the database read every row of the big one.
    client_search_fields = ()

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related(*self.list_prefetch_related)

    def get_changelist(self, request, **kwargs):
        return RowLinksKeepFiltersChangeList

    def action_checkbox(self, obj):
        """Django's row checkbox with the same markup, written directly instead of rendering a form widget
        through the template engine for every row: that was a third of a 100-row page's rendering time."""
        label = format_html(_("Select this object for an action - {}"), str(obj))
        return format_html('<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
                           helpers.ACTION_CHECKBOX_NAME, obj.pk, label)

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if term.isdigit() and self.number_search_fields:
            return queryset.filter(_any(Q(**{field: int(term)}) for field in self.number_search_fields)), False
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if term and self.client_search_fields:
            clients = Client.objects.filter(_any(Q(**{f"{field}__icontains": term}) for field in self.client_search_fields))
            # The ids as a list, not a subquery: with a list the database can merge two index lookups (the
            # list's own field and client_id); with a subquery it reads every row of the big table.
            client_ids = list(clients.values_list("pk", flat=True)[:CLIENT_SEARCH_LIMIT])
            found = found | queryset.filter(client_id__in=client_ids)
        return found, may_have_duplicates


def _any(conditions):
    return reduce(or_, conditions)


def client_values_filter(field, title):
    """A list filter on `field` (currency, country) whose choices are the values clients have: read from the
    client table, not with a DISTINCT over the listed table's millions of rows (Django's default)."""

    class ClientValuesFilter(admin.SimpleListFilter):
        parameter_name = f"{field}__exact"

        def lookups(self, request, model_admin):
            values = Client.objects.order_by(field).values_list(field, flat=True).distinct()
            return [(value, value) for value in values]

        def queryset(self, request, queryset):
            return queryset.filter(**{field: self.value()}) if self.value() else queryset

    ClientValuesFilter.title = title
    return ClientValuesFilter
