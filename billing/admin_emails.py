"""Staff pages for e-mail: templates (edited with a preview rendered from sample data; WHMCS Smarty texts are
converted to Django syntax on save) and the log of every e-mail event, with a resend action."""
from django import forms
from django.contrib import admin, messages
from django.template import TemplateSyntaxError
from django.utils.html import format_html

from billing import emails
from billing.models import EmailLog, EmailTemplate
from portal import mail_text


class EmailTemplateForm(forms.ModelForm):
    class Meta:
        model = EmailTemplate
        fields = ["name", "category", "subject", "body", "disabled"]
        widgets = {"body": forms.Textarea(attrs={"rows": 20, "cols": 100, "class": "mail-source"})}
        help_texts = {
            "body": "Django template syntax with WHMCS merge fields, e.g. {{ client_first_name }}. "
                    "Text pasted from WHMCS ({$client_first_name}) is converted when saved.",
        }

    def _clean_text(self, name):
        text = mail_text.smarty_to_django(self.cleaned_data.get(name, ""))
        blocks = mail_text.unsupported_smarty(text)
        if blocks:
            raise forms.ValidationError(
                f"Smarty blocks are not converted: {', '.join(blocks)}. Rewrite them in Django syntax "
                "({% if … %}…{% endif %}, {% for … %}…{% endfor %})."
            )
        refused = mail_text.refused_tags(text)
        if refused:
            raise forms.ValidationError(
                f"These template tags are not available in e-mails: {', '.join('{% ' + tag + ' %}' for tag in refused)}."
            )
        try:
            mail_text.render_text(text, emails.sample_context())
        except TemplateSyntaxError as exc:
            raise forms.ValidationError(f"Template error: {exc}") from None
        return text

    def clean_subject(self):
        return self._clean_text("subject")

    def clean_body(self):
        return self._clean_text("body")


class EmailTemplateAdmin(admin.ModelAdmin):
    form = EmailTemplateForm
    list_display = ["name", "category", "subject", "disabled", "updated_at"]
    list_filter = ["category", "disabled"]
    search_fields = ["name", "subject", "body"]
    readonly_fields = ["merge_fields", "preview"]
    fieldsets = [
        (None, {"fields": ["name", "category", "disabled", "subject", "body"]}),
        ("Preview with sample data (save and continue editing to refresh)", {"fields": ["preview", "merge_fields"]}),
    ]

    @admin.display(description="Preview")
    def preview(self, obj):
        if obj.pk is None:
            return "Save the template to see a preview."
        try:
            subject, body = emails.render_template(obj, emails.sample_context())
        except TemplateSyntaxError as exc:
            return f"Template error: {exc}"
        return format_html(
            '<div data-testid="email-preview"><strong>{}</strong><pre class="mail-text">{}</pre></div>', subject, body
        )

    @admin.display(description="Merge fields")
    def merge_fields(self, obj):
        return ", ".join(sorted(emails.sample_context()))


class EmailLogAdmin(admin.ModelAdmin):
    list_display = ["created_at", "template_name", "client", "to", "status", "attempts", "sent_at"]
    list_filter = ["status", "template_name"]
    search_fields = ["event_key", "to", "subject", "client__email", "=client__id"]
    list_select_related = ["client"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in EmailLog._meta.fields if f.name != "claim"]
    exclude = ["claim"]
    actions = ["resend"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the log is kept: it is the proof of what was sent

    @admin.action(description="Send the selected e-mails again", permissions=["change"])
    def resend(self, request, queryset):
        count = emails.resend(logs=list(queryset))
        self.message_user(request, f"{count} e-mail(s) queued again.", messages.SUCCESS)
