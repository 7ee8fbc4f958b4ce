"""Staff pages of tax: the tax rules (audited; an overlapping rule is refused), credit notes (read only: they are
issued by refunds and cancellations) and the tax report (per period, country and rate; CSV), guarded by the
`billing.view_tax_report` permission."""
from datetime import date, timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone

from billing.models import CreditNote, CreditNoteItem, CreditNoteTaxLine, InvoiceTaxLine, TaxRule
from billing.services.tax_rules import tax_rule_delete, tax_rule_save
from billing.tax.report import CSV_HEADER, csv_rows, tax_report
from portal.activity import Actor
from portal.admin import RecordOnlyAdmin
from portal.csv_output import csv_writer


@admin.register(TaxRule)
class TaxRuleAdmin(admin.ModelAdmin):
    list_display = ["country", "region", "level", "name", "rate", "compound"]
    list_filter = ["level", "country"]
    search_fields = ["country", "region", "name"]
    change_list_template = "billing/admin/taxrule_change_list.html"

    def save_model(self, request, obj, form, change):
        tax_rule_save(rule=obj, actor=Actor.from_request(request))

    def delete_model(self, request, obj):
        tax_rule_delete(rule=obj, actor=Actor.from_request(request))

    def delete_queryset(self, request, queryset):
        for rule in queryset:
            tax_rule_delete(rule=rule, actor=Actor.from_request(request))

    def get_urls(self):
        return [path("report/", self.admin_site.admin_view(tax_report_view), name="billing_tax_report"),
                *super().get_urls()]


class CreditNoteItemInline(admin.TabularInline):
    model = CreditNoteItem
    fields = ["description", "amount", "taxable", "invoice_item"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class CreditNoteTaxLineInline(CreditNoteItemInline):
    model = CreditNoteTaxLine
    fields = ["level", "name", "rate", "compound", "country", "region", "base", "tax"]
    readonly_fields = fields


class InvoiceTaxLineInline(CreditNoteTaxLineInline):
    """An invoice's tax breakdown, on its staff page (admin_money.InvoiceAdmin)."""

    model = InvoiceTaxLine


@admin.register(CreditNote)
class CreditNoteAdmin(RecordOnlyAdmin):
    list_display = ["number", "invoice", "client", "kind", "date", "subtotal", "tax", "total", "currency"]
    list_filter = ["kind", "currency"]
    search_fields = ["number", "invoice__number", "client__company_name", "client__last_name", "client__email"]
    list_select_related = ["invoice", "client"]
    date_hierarchy = "date"
    fields = ["number", "invoice", "client", "kind", "payment", "date", "currency", "reason", "subtotal", "tax", "total",
              "prices_include_tax", "tax_note", "created_at"]
    readonly_fields = fields
    inlines = [CreditNoteItemInline, CreditNoteTaxLineInline]


class TaxReportForm(forms.Form):
    start = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise ValidationError("The period ends before it starts.")
        return data


def _last_quarter(today):
    """The calendar quarter before today's (the OSS return's period)."""
    quarter_start_month = 3 * ((today.month - 1) // 3) + 1
    end = date(today.year, quarter_start_month, 1) - timedelta(days=1)
    return date(end.year, end.month - 2, 1), end


def tax_report_view(request):
    if not request.user.has_perm("billing.view_tax_report"):
        raise PermissionDenied
    start, end = _last_quarter(timezone.localdate())
    form = TaxReportForm(request.GET or None, initial={"start": start, "end": end})
    rows = None
    if form.is_bound and form.is_valid():
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    elif form.is_bound:
        messages.error(request, " ".join(form.non_field_errors()) or "Give the period's first and last day.")
    if not form.is_bound or form.is_valid():
        rows = tax_report(start=start, end=end)
    if rows is not None and request.GET.get("format") == "csv":
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="tax-report-{start}-{end}.csv"'
        writer = csv_writer(response, lineterminator="\r\n")
        writer.writerow(CSV_HEADER)
        writer.writerows(csv_rows(rows))
        return response
    context = {**admin.site.each_context(request), "title": "Tax report", "form": form, "rows": rows, "start": start,
               "end": end, "opts": TaxRule._meta}
    return TemplateResponse(request, "billing/admin/tax_report.html", context)
