"""Staff pages of bank transfer: upload a statement (camt.053, or CSV with a column mapping), see what it paid,
what it could not read, what was already imported, and resolve the unmatched lines (assign an invoice, put to a
client's credit, ignore). Every write is one payments.bank.matching call with the staff member as the actor."""
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from payments.bank.forms import LineResolveForm, StatementUploadForm
from payments.bank.lines import StatementError
from payments.bank.matching import import_file, line_assign, line_ignore, line_to_credit
from payments.models.bank import BankStatement, StatementLine
from portal.activity import Actor
from portal.admin import RecordOnlyAdmin, local_date_time
from portal.money import format_money

SHOWN = 200  # errors and duplicates listed on a statement's page


def _page(modeladmin, request, template, title, **context):
    return TemplateResponse(request, template, {
        **modeladmin.admin_site.each_context(request), "opts": modeladmin.model._meta, "title": title, **context,
    })


def _errors(exc):
    if hasattr(exc, "message_dict"):
        return [m for messages_ in exc.message_dict.values() for m in messages_]
    return list(exc.messages)


@admin.register(BankStatement)
class BankStatementAdmin(RecordOnlyAdmin):
    # Four columns, so that the list fits a 1,280 px window (tests/browser/test_bank_statements_admin.py).
    list_display = ["id", "statement", "uploaded", "lines"]
    list_filter = ["format"]
    search_fields = ["filename", "statement_id", "=id"]
    change_list_template = "payments/admin/statement_change_list.html"
    fieldsets = [
        (None, {"fields": ["filename", "format", "statement_id", "account", "uploaded_at", "uploaded_by"]}),
        ("Lines", {"fields": ["line_count", "paid_count", "unmatched_link", "duplicate_count", "skipped_count",
                              "lines_link"]}),
        ("Report", {"fields": ["error_table", "duplicate_table"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        return [name for fieldset in self.fieldsets for name in fieldset[1]["fields"]]

    @admin.display(description="statement", ordering="filename")
    def statement(self, obj):
        return format_html('{} · {}<br><span class="file-name">{}</span>', obj.get_format_display(),
                           obj.statement_id or "no statement id", obj.filename)

    @admin.display(description="uploaded", ordering="uploaded_at")
    def uploaded(self, obj):
        return local_date_time(obj.uploaded_at)

    @admin.display(description="lines")
    def lines(self, obj):
        parts = [format_html("{} lines", obj.line_count), format_html("{} paid", obj.paid_count),
                 format_html("{} unmatched", self.unmatched_link(obj)),
                 format_html("{} duplicates", obj.duplicate_count), format_html("{} errors", self.error_count(obj))]
        return format_html_join(" · ", '<span class="nowrap">{}</span>', ((part,) for part in parts))

    @admin.display(description="unmatched")
    def unmatched_link(self, obj):
        if not obj.unmatched_count:
            return 0
        url = reverse("admin:payments_statementline_changelist")
        return format_html('<a href="{}?statement__id__exact={}&state__exact=unmatched">{}</a>', url, obj.pk,
                           obj.unmatched_count)

    @admin.display(description="errors")
    def error_count(self, obj):
        return len(obj.errors)

    @admin.display(description="all lines")
    def lines_link(self, obj):
        url = reverse("admin:payments_statementline_changelist")
        return format_html('<a href="{}?statement__id__exact={}">The {} lines of this statement</a>', url, obj.pk,
                           obj.line_count)

    @admin.display(description="lines that could not be read (nothing recorded for them)")
    def error_table(self, obj):
        if not obj.errors:
            return "None."
        rows = format_html_join("", "<li>{}</li>", ((e,) for e in obj.errors[:SHOWN]))
        more = f" (the first {SHOWN} of {len(obj.errors)})" if len(obj.errors) > SHOWN else ""
        return format_html("<ul>{}</ul>{}", rows, more)

    @admin.display(description="already imported (duplicates: nothing recorded again)")
    def duplicate_table(self, obj):
        if not obj.duplicates:
            return "None."
        rows = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{} {}</td><td>{}</td></tr>", (
            (d["position"], d["entry_reference"], d["amount"], d["currency"], d.get("payer_name") or "—")
            for d in obj.duplicates[:SHOWN]
        ))
        return format_html('<table><thead><tr><th>Line</th><th>Bank reference</th><th>Amount</th><th>Payer</th></tr>'
                           '</thead><tbody>{}</tbody></table>', rows)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [path("upload/", wrap(self.upload_view), name="payments_bankstatement_upload"), *super().get_urls()]

    def upload_view(self, request):
        if not request.user.has_perm("payments.add_bankstatement"):
            raise PermissionDenied
        form = StatementUploadForm(request.POST or None, request.FILES or None,
                                   initial=StatementUploadForm.initial_from_last_csv())
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            fmt = form.cleaned_data["format"]
            try:
                statement = import_file(
                    data=upload.read(), format=fmt, actor=Actor.from_request(request), filename=upload.name,
                    mapping=form.mapping() if fmt == BankStatement.Format.CSV else None,
                )
            except StatementError as exc:
                form.add_error("file", str(exc))
            except ValidationError as exc:
                for message in _errors(exc):
                    form.add_error(None, message)
            else:
                level = messages.WARNING if statement.errors or statement.unmatched_count else messages.SUCCESS
                messages.add_message(request, level, (
                    f"Statement {statement.filename}: {statement.line_count} new credit line(s), {statement.paid_count} "
                    f"paid, {statement.unmatched_count} waiting for staff, {statement.duplicate_count} already "
                    f"imported, {len(statement.errors)} could not be read."))
                return redirect("admin:payments_bankstatement_change", statement.pk)
        return _page(self, request, "payments/admin/form_page.html", "Upload a bank statement", form=form,
                     multipart=True, submit="Upload and match",
                     help="Each credit line is matched to an invoice by its RF payment reference, else by exact amount "
                          "and payer name, and the payment recorded; the rest wait for you under Statement lines. The "
                          "bank's reference of each line is the payment's transaction id, so uploading a statement "
                          "again records nothing twice. The CSV fields are used only for the CSV format.")


@admin.register(StatementLine)
class StatementLineAdmin(RecordOnlyAdmin):
    # Six columns, so that the list fits a 1,280 px window (tests/browser/test_bank_statements_admin.py).
    list_display = ["line", "booking_date", "amount_shown", "payer", "outcome", "resolve_link"]
    change_list_template = "payments/admin/line_change_list.html"
    list_filter = ["state", "matched_by", "currency", "statement"]
    search_fields = ["entry_reference", "payer_name", "reference_text", "invoice__number"]
    list_select_related = ["invoice", "statement"]
    show_full_result_count = False
    readonly_fields = ["statement", "position", "entry_reference", "booking_date", "amount", "currency", "reference",
                       "reference_text", "payer_name", "state", "reason", "matched_by", "invoice", "payment",
                       "resolved_by", "resolved_at"]

    @admin.display(description="bank reference", ordering="entry_reference")
    def line(self, obj):
        return format_html('<span class="file-name">{}</span><br>{}', obj.entry_reference, self.statement_link(obj))

    @admin.display(description="amount", ordering="amount")
    def amount_shown(self, obj):
        return format_html('<span class="nowrap">{} {}</span>', format_money(obj.amount, obj.currency), obj.currency)

    @admin.display(description="payer and reference", ordering="payer_name")
    def payer(self, obj):
        return format_html('{}<br><span class="file-name">{}</span>', obj.payer_name or "—", obj.reference_text or "")

    @admin.display(description="state", ordering="state")
    def outcome(self, obj):
        invoice = format_html("<br>invoice {}", obj.invoice.number or obj.invoice_id) if obj.invoice_id else ""
        reason = format_html('<br><span class="file-name">{}</span>', obj.reason) if obj.reason else ""
        return format_html("{}{}{}", obj.get_state_display(), invoice, reason)

    @admin.display(description="statement", ordering="statement")
    def statement_link(self, obj):
        url = reverse("admin:payments_bankstatement_change", args=[obj.statement_id])
        return format_html('statement <a href="{}">{}</a>, line {}', url, obj.statement_id, obj.position)

    @admin.display(description="")
    def resolve_link(self, obj):
        if obj.state != StatementLine.State.UNMATCHED:
            return ""
        return format_html('<a href="{}">Resolve</a>', reverse("admin:payments_statementline_resolve", args=[obj.pk]))

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [path("<int:line_id>/resolve/", wrap(self.resolve_view), name="payments_statementline_resolve"),
                *super().get_urls()]

    def resolve_view(self, request, line_id):
        if not request.user.has_perm("payments.change_statementline"):
            raise PermissionDenied
        line = get_object_or_404(StatementLine.objects.select_related("statement"), pk=line_id)
        if line.state != StatementLine.State.UNMATCHED:
            messages.info(request, f"This line is already {line.get_state_display().lower()}.")
            return redirect("admin:payments_statementline_change", line.pk)
        form = LineResolveForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data, actor = form.cleaned_data, Actor.from_request(request)
            try:
                if data["action"] == form.ASSIGN:
                    line_assign(line=line, invoice=data["invoice"], actor=actor)
                elif data["action"] == form.CREDIT:
                    line_to_credit(line=line, client=data["client"], actor=actor)
                else:
                    line_ignore(line=line, reason=data["reason"], actor=actor)
            except ValidationError as exc:
                for message in _errors(exc):
                    form.add_error(None, message)
            else:
                line.refresh_from_db()
                messages.success(request, f"Line {line.entry_reference}: {line.get_state_display().lower()}.")
                url = reverse("admin:payments_statementline_changelist")
                return redirect(f"{url}?statement__id__exact={line.statement_id}&state__exact=unmatched")
        return _page(self, request, "payments/admin/form_page.html", f"Resolve bank line {line.entry_reference}",
                     form=form, line=line, submit="Record")
