"""Staff pages for VoIP billing: rate packages (with CSV deck import), rates, the VoIP settings of products, CDR
sources (write-only credentials, the Vodia push URL, "import now"), imports (upload with progress, re-rating,
reports with line-numbered errors) and the call records. Every write goes through voip.services."""
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from billing.automation.admin import ConfigurationAuditMixin, SingletonSettingsAdmin
from billing.models import Product
from portal.activity import Actor
from portal.admin import RecordOnlyAdmin, local_date_time
from portal.admin_paging import LargeTableAdmin
from voip.forms import CdrUploadForm, DeckImportForm, RerateForm
from voip.models import Cdr, CdrImport, CdrSource, Rate, RatePackage, VoipProduct, VoipSettings
from voip.services.decks import bump_version, import_deck
from voip.services.rerating import rematch_unmatched, rerate_service
from voip.services.uploads import upload_cdr_file
from voip.tasks import import_source


def _page(modeladmin, request, template, title, **context):
    return TemplateResponse(request, template, {
        **modeladmin.admin_site.each_context(request), "opts": modeladmin.model._meta, "title": title, **context,
    })


WEEKDAYS = [(str(number), name) for number, name in enumerate(
    ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"), 1)]


class RateForm(forms.ModelForm):
    """A rate, with its time-of-day days as weekday check boxes (stored as ISO digits, none ticked = every day)."""

    days = forms.MultipleChoiceField(
        choices=WEEKDAYS, required=False, widget=forms.CheckboxSelectMultiple,
        help_text="Days the rate applies on, with the start and end time below, in the client's time zone. "
                  "None ticked and no times: all day. Outside its periods the prefix's all-day rate applies.",
    )

    class Meta:
        model = Rate
        fields = "__all__"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial["days"] = list(self.instance.days or "")

    def clean_days(self):
        days = "".join(sorted(set(self.cleaned_data["days"])))
        return "" if days == "1234567" else days


class RateInline(admin.TabularInline):
    """The first rates of a package; the full list (36,000 prefixes) is the Rates page, filtered."""

    model = Rate
    fields = ["prefix", "destination", "direction", "connect_fee", "rate_per_minute", "minimum_seconds",
              "increment_seconds", "valid_from", "valid_to", "weight", "period"]
    readonly_fields = fields
    can_delete = False
    extra = 0
    max_num = 0
    show_change_link = True

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        first = list(queryset.order_by("prefix", "id").values_list("id", flat=True)[:20])
        return queryset.filter(pk__in=first)


@admin.register(RatePackage)
class RatePackageAdmin(admin.ModelAdmin):
    list_display = ["name", "currency", "increment_mode", "rate_count", "product_count", "updated_at"]
    list_filter = ["increment_mode", "currency"]
    search_fields = ["name"]
    readonly_fields = ["rates_version", "rates_link", "created_at", "updated_at"]
    inlines = [RateInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            rate_rows=Count("rates", distinct=True), product_rows=Count("products", distinct=True)
        )

    @admin.display(description="rates", ordering="rate_rows")
    def rate_count(self, obj):
        return obj.rate_rows

    @admin.display(description="products", ordering="product_rows")
    def product_count(self, obj):
        return obj.product_rows

    @admin.display(description="rates")
    def rates_link(self, obj):
        if obj.pk is None:
            return "—"
        rates = reverse("admin:voip_rate_changelist") + f"?package__id__exact={obj.pk}"
        deck = reverse("admin:voip_ratepackage_import", args=[obj.pk])
        return format_html('<a href="{}">All rates of this package</a> · <a href="{}">Import a rate deck (CSV)</a>',
                           rates, deck)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [path("<int:package_id>/import/", wrap(self.import_view), name="voip_ratepackage_import"),
                *super().get_urls()]

    def import_view(self, request, package_id):
        """Load a deck CSV: every bad row is listed with its line number; nothing is imported from an unusable
        file, nor from one with bad rows unless staff choose to skip them."""
        package = get_object_or_404(RatePackage, pk=package_id)
        if not self.has_change_permission(request, package):
            raise PermissionDenied
        form = DeckImportForm(request.POST or None, request.FILES or None)
        result = None
        if request.method == "POST" and form.is_valid():
            lines = (raw.decode("utf-8-sig", "replace") for raw in form.cleaned_data["file"])
            result = import_deck(
                package=package, lines=lines, replace=form.cleaned_data["replace"],
                skip_bad_rows=form.cleaned_data["skip_bad_rows"], actor=Actor.from_request(request),
            )
            if result.ok:
                messages.success(request, f"{result.imported} rate(s) imported into {package.name}"
                                 + (f"; {len(result.errors)} bad row(s) skipped." if result.errors else "."))
                if not result.errors:
                    return redirect("admin:voip_ratepackage_change", package.pk)
            else:
                messages.error(request, result.refused)
        return _page(self, request, "voip/admin/deck_import.html", f"Import a rate deck into {package.name}",
                     form=form, package=package, result=result)


@admin.register(Rate)
class RateAdmin(ConfigurationAuditMixin, admin.ModelAdmin):
    """A rate edited by hand is audited like the other configuration pages (a deck import audits itself)."""
    audit_action = "voip_rate"
    form = RateForm
    list_display = ["prefix", "destination", "package", "direction", "connect_fee", "rate_per_minute",
                    "minimum_seconds", "increment_seconds", "free_seconds", "valid_from", "valid_to", "weight",
                    "period"]
    list_filter = ["package", "direction"]
    search_fields = ["=prefix", "destination"]
    list_select_related = ["package"]
    list_per_page = 100
    show_full_result_count = False

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        bump_version(obj.package)

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        bump_version(obj.package)

    def delete_queryset(self, request, queryset):
        packages = list(RatePackage.objects.filter(rates__in=queryset).distinct())
        super().delete_queryset(request, queryset)
        for package in packages:
            bump_version(package)


@admin.register(VoipProduct)
class VoipProductAdmin(ConfigurationAuditMixin, admin.ModelAdmin):
    audit_action = "voip_product_settings"
    list_display = ["product", "rate_package", "billing_mode", "accept_possible_numbers"]
    list_filter = ["billing_mode", "rate_package"]
    search_fields = ["product__name"]
    list_select_related = ["product", "rate_package"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "product":
            kwargs["queryset"] = Product.objects.filter(type=Product.Type.VOIP)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(VoipSettings)
class VoipSettingsAdmin(SingletonSettingsAdmin):
    """One row: the low-balance reminder and the postpaid usage invoices' terms."""

    audit_action = "voip_settings"
    fieldsets = [
        ("Low-balance alerts", {"fields": ["low_balance_reminder_days"]}),
        ("Postpaid usage invoices", {"fields": ["usage_invoice_due_days"]}),
    ]


class SecretInput(forms.PasswordInput):
    """Never renders the stored secret; left blank, the stored value is kept."""

    def __init__(self):
        super().__init__(render_value=False, attrs={"autocomplete": "new-password"})


class CdrSourceForm(forms.ModelForm):
    SECRETS = ("password", "token", "push_password")

    class Meta:
        model = CdrSource
        fields = "__all__"
        widgets = {name: SecretInput() for name in ("password", "token", "push_password")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.SECRETS:
            note = "Stored encrypted" + ("; leave blank to keep the current value." if self.instance.pk else ".")
            self.fields[name].help_text = f"{self.fields[name].help_text} {note}".strip()
        self.fields["schedule"].help_text = "FusionPBX and Vodia: hourly; LesNet: daily (its file changes once a day)."

    def clean(self):
        data = super().clean()
        kind_default = CdrSource.DEFAULT_SCHEDULE.get(data.get("kind"))
        if not self.instance.pk and kind_default and "schedule" not in self.changed_data:
            data["schedule"] = kind_default  # a new LesNet source is daily, an upload source not scheduled
        for name in self.SECRETS:
            if not data.get(name) and self.instance.pk:
                # The instance still holds the stored values here: the form's data reach it after clean().
                data[name] = getattr(self.instance, name)
        if data.get("kind") == CdrSource.Kind.VODIA and data.get("push_username") and not data.get("push_password"):
            self.add_error("push_password", "Give the password Vodia puts in the CDR URL.")
        return data


@admin.register(CdrSource)
class CdrSourceAdmin(admin.ModelAdmin):
    form = CdrSourceForm
    list_display = ["name", "kind", "server", "schedule", "enabled", "last_imported_up_to", "error"]
    list_filter = ["kind", "schedule", "enabled"]
    search_fields = ["name", "server__name"]
    list_select_related = ["server"]
    readonly_fields = ["push_url", "last_error", "push_refusals", "push_last_refused_at", "push_last_refusal",
                       "created_at"]
    actions = ["import_now", "match_again"]

    @admin.display(description="last error")
    def error(self, obj):
        return (obj.last_error[:80] + "…") if len(obj.last_error) > 80 else obj.last_error

    @admin.display(description="Vodia CDR URL")
    def push_url(self, obj):
        if obj.pk is None or obj.kind != CdrSource.Kind.VODIA:
            return "Vodia sources only (saved first)."
        url = reverse("voip:vodia_push", args=[obj.pk])
        return format_html(
            "Set the tenant's CDR URL to <code>webcdr://{}:PASSWORD@YOUR-PORTAL-HOST{}</code> (HTTPS); add "
            "<code>?domain=TENANT</code> when the records do not carry the tenant.", obj.push_username or "USER", url,
        )

    @admin.action(description="Import now (fetch from the provider)", permissions=["change"])
    def import_now(self, request, queryset):
        ids = list(queryset.exclude(server=None).values_list("id", flat=True))
        transaction.on_commit(lambda: [import_source.delay(pk) for pk in ids])
        messages.success(request, f"{len(ids)} import(s) queued; see CDR imports for their reports.")

    @admin.action(description="Match unmatched calls again (after correcting services)", permissions=["change"])
    def match_again(self, request, queryset):
        for source in queryset:
            result = rematch_unmatched(source=source, actor=Actor.from_request(request))
            messages.info(request, f"{source.name}: {result.inserted} call(s) matched, {result.charged} charged.")


@admin.register(CdrImport)
class CdrImportAdmin(RecordOnlyAdmin):
    # Six columns, so the list fits a 1280 px window beside the navigation and the filters: the kind, source and
    # file are one cell, the status is the progress column, and the counts are one summary (each count is on the
    # import's page). Kind, status and source stay filters; id and created stay sortable.
    list_display = ["id", "what", "progress", "created", "counts", "charged"]
    list_filter = ["kind", "status", "source"]
    search_fields = ["file_name", "source__name", "=id"]
    list_select_related = ["source"]
    show_full_result_count = False
    change_list_template = "voip/admin/import_change_list.html"
    change_form_template = "voip/admin/import_change_form.html"
    fieldsets = [
        (None, {"fields": ["kind", "source", "file_name", "file_format", "status", "progress", "message", "created_by",
                           "created_at", "started_at", "finished_at"]}),
        ("Counts", {"fields": ["lines_read", "inserted", "duplicates", "rated", "unrated", "ignored", "invalid",
                               "unmatched", "charged", "error_count"]}),
        ("Report", {"fields": ["error_table", "unmatched_table"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        return [name for fieldset in self.fieldsets for name in fieldset[1]["fields"]]

    @admin.display(description="import", ordering="source__name")
    def what(self, obj):
        source = obj.source.name if obj.source else "no source"
        if obj.file_name:
            return format_html('{} · {}<br><span class="file-name">{}</span>', obj.get_kind_display(), source,
                               obj.file_name)
        return format_html("{} · {}", obj.get_kind_display(), source)

    @admin.display(description="created", ordering="created_at")
    def created(self, obj):
        return local_date_time(obj.created_at)

    @admin.display(description="calls")
    def counts(self, obj):
        parts = [(obj.inserted, "new"), (obj.duplicates, "duplicate"), (obj.rated, "rated"), (obj.unrated, "unrated"),
                 (obj.invalid, "invalid"), (obj.unmatched, "unmatched")]
        shown = [(f"{number:,}", label) for number, label in parts if number or label in ("new", "rated")]
        return format_html_join(" · ", '<span class="nowrap">{} {}</span>', shown)

    @admin.display(description="status")
    def progress(self, obj):
        if obj.status in (CdrImport.Status.QUEUED, CdrImport.Status.RUNNING) and obj.bytes_total:
            return f"{obj.progress_percent}% ({obj.lines_read} lines)"
        return obj.get_status_display()

    @admin.display(description="bad lines")
    def error_table(self, obj):
        if not obj.errors:
            return "None."
        rows = format_html_join("", "<tr><td>{}</td><td>{}</td></tr>", ((e["line"], e["reason"]) for e in obj.errors))
        more = f" (the first {len(obj.errors)} of {obj.error_count})" if obj.error_count > len(obj.errors) else ""
        return format_html('<table><thead><tr><th>Line</th><th>Reason{}</th></tr></thead><tbody>{}</tbody></table>',
                           more, rows)

    @admin.display(description="unmatched calls (sample)")
    def unmatched_table(self, obj):
        if not obj.unmatched_sample:
            return "None."
        rows = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", (
            (row["line"], row["account"] or "—", row["caller"], row["callee"]) for row in obj.unmatched_sample
        ))
        return format_html('<table><thead><tr><th>Line</th><th>Account</th><th>Caller</th><th>Callee</th></tr>'
                           '</thead><tbody>{}</tbody></table><p class="help">Correct the services\' tenant, DIDs or '
                           'extensions, then use "Match unmatched calls again" on the source.</p>', rows)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("upload/", wrap(self.upload_view), name="voip_cdrimport_upload"),
            path("rerate/", wrap(self.rerate_view), name="voip_cdrimport_rerate"),
            path("<int:import_id>/progress/", wrap(self.progress_view), name="voip_cdrimport_progress"),
            *super().get_urls(),
        ]

    def upload_view(self, request):
        if not request.user.has_perm("voip.add_cdrimport"):
            raise PermissionDenied
        form = CdrUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            cdr_import = upload_cdr_file(
                source=form.cleaned_data["source"], uploaded_file=form.cleaned_data["file"],
                file_format=form.cleaned_data["file_format"], actor_user=request.user,
            )
            messages.success(request, f"{cdr_import.file_name} is being imported; this page follows its progress.")
            return redirect("admin:voip_cdrimport_change", cdr_import.pk)
        return _page(self, request, "voip/admin/form_page.html", "Upload a CDR file", form=form, multipart=True,
                     help="Asterisk Master.csv and FreeSWITCH cdr_csv use the source's time zone for their local "
                          "timestamps. Long files are imported in the background, in chunks.")

    def rerate_view(self, request):
        if not request.user.has_perm("voip.change_cdr"):
            raise PermissionDenied
        form = RerateForm(request.POST or None, admin_site=self.admin_site,
                          initial={"service": request.GET.get("service")})
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            result = rerate_service(
                service=data["service"], start=data["start"], end=data["end"], actor=Actor.from_request(request)
            )
            messages.success(request, f"{result.lines_read} call(s) re-rated with the current deck; charges changed by "
                                      f"{result.charged:+}.")
            return redirect("admin:voip_cdrimport_change", result.pk)
        return _page(self, request, "voip/admin/form_page.html", "Re-rate a service's calls", form=form,
                     help="Rates the period's calls again with the product's current rate deck and posts the "
                          "difference of its prepaid calls to the client's credit as one adjustment (postpaid calls "
                          "change the unbilled usage; calls already on a usage invoice are kept). Running it again "
                          "changes nothing.")

    def progress_view(self, request, import_id):
        if not self.has_view_permission(request):
            raise PermissionDenied
        cdr_import = get_object_or_404(CdrImport, pk=import_id)
        return JsonResponse({
            "status": cdr_import.status, "percent": cdr_import.progress_percent, "lines": cdr_import.lines_read,
            "bytes_done": cdr_import.bytes_done, "bytes_total": cdr_import.bytes_total,
            "done": cdr_import.status in (CdrImport.Status.DONE, CdrImport.Status.FAILED),
        })


@admin.register(Cdr)
class CdrAdmin(LargeTableAdmin, RecordOnlyAdmin):
    list_display = ["answer_time", "service", "direction", "caller", "callee", "destination", "billsec",
                    "billed_seconds", "cost", "status", "postpaid", "usage_invoice", "source"]
    list_filter = ["status", "direction", "internal_leg", "postpaid", "source"]
    search_fields = ["=external_id", "=call_id", "caller", "callee", "=e164", "=service__domain"]
    list_prefetch_related = ["service__product", "source", "usage_invoice"]
    raw_id_fields = ["service", "cdr_import"]
