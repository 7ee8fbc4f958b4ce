"""The overwrite rule form: seed 001's parameter rules, each refused with the seed's own words."""
from django import forms

from billing.automation.rules import override_problems
from billing.models import AutomationSettings, OverwriteRule


class OverwriteRuleForm(forms.ModelForm):
    class Meta:
        model = OverwriteRule
        fields = ["product", "product_group", "overwrite_suspension", "suspend_days", "overwrite_termination",
                  "terminate_days"]
        help_texts = {
            "suspend_days": "Days after the next due date. Used when Overwrite Suspension is on.",
            "terminate_days": "Days after the next due date. Used when Overwrite Termination is on.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.automation = AutomationSettings.load()
        per_group = self.automation.override_type == AutomationSettings.OverrideType.GROUP
        kind = "product groups" if per_group else "products"
        self.fields["product"].help_text = self.fields["product_group"].help_text = (
            f"Choose a product or a product group. Overrides currently apply to {kind} (Override type in the "
            "automation settings); a rule of the other kind is kept but does not take effect."
        )

    def clean(self):
        data = super().clean()
        product, group = data.get("product"), data.get("product_group")
        if bool(product) == bool(group):
            raise forms.ValidationError("Choose either a product or a product group (one of them).")
        problems = override_problems(
            settings=self.automation,
            overwrite_suspension=data.get("overwrite_suspension"),
            suspend_days=data.get("suspend_days") or 0,
            overwrite_termination=data.get("overwrite_termination"),
            terminate_days=data.get("terminate_days") or 0,
        )
        for field, message in problems.items():
            if field not in self.errors:
                self.add_error(field, message)
        return data
