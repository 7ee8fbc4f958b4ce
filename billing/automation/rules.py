"""Which suspension and termination days apply to a service: the global settings (seed 004) and the overwrite
rules (seed 001).

Seed 001, as implemented here:
- overrides apply per product or per product group, as AutomationSettings.override_type says; rules of the other
  kind are kept but ignored. In group mode a product follows the group it is in *now* (moving it changes its
  rule); in product mode the rule belongs to the product and follows it into any group;
- an override replaces the global days only where it is switched on ("Overwrite Suspension" / "Overwrite
  Termination"); for the other action the global setting still applies;
- an override may not exceed the global days while that global action is enabled. The admin form refuses it; a
  rule saved earlier that exceeds them after the global settings changed "does not take effect due to the
  global configuration": the global days apply (they come first anyway) and the admin marks the rule;
- with the global action disabled, an override alone decides (it enables the action for its products);
- the override suspension days must be less than the override termination days when both are on.
"""
from dataclasses import dataclass

from billing.models import AutomationSettings, OverwriteRule

SUSPEND = "suspend"
TERMINATE = "terminate"
GLOBAL = "global"

# The seed's own words, so that staff coming from the add-on recognise each rule.
SUSPEND_EXCEEDS_GLOBAL = (
    'The "Overwrite Suspension" parameter cannot exceed the "Suspend Days" value from the global configuration '
    "({days} days) while suspension is enabled."
)
TERMINATE_EXCEEDS_GLOBAL = (
    'The "Overwrite Termination" parameter cannot exceed the "Termination Days" value from the global '
    "configuration ({days} days) while termination is enabled."
)
SUSPEND_NOT_BELOW_TERMINATE = (
    'The "Overwrite Suspension" parameter must always be less than the "Overwrite Termination" parameter.'
)
TERMINATE_NOT_ABOVE_SUSPEND = (
    'The "Overwrite Termination" parameter must always be greater than the "Overwrite Suspension" parameter.'
)


@dataclass(frozen=True)
class Rule:
    """The days after the next due date at which an action happens, and where they come from."""

    action: str
    days: int
    label: str  # "global", "override: product Basic mail", "override: group Dedicated servers"
    override: bool = False
    note: str = ""  # e.g. why an existing override did not take effect

    @property
    def description(self):
        return f"{self.label} ({self.days} days){'; ' + self.note if self.note else ''}"


def override_problems(*, settings, overwrite_suspension, suspend_days, overwrite_termination, terminate_days):
    """{field: message} for each seed-001 rule an override breaks against the given global settings."""
    problems = {}
    if overwrite_suspension and settings.suspension_enabled and suspend_days > settings.suspend_days:
        problems["suspend_days"] = SUSPEND_EXCEEDS_GLOBAL.format(days=settings.suspend_days)
    if overwrite_termination and settings.termination_enabled and terminate_days > settings.terminate_days:
        problems["terminate_days"] = TERMINATE_EXCEEDS_GLOBAL.format(days=settings.terminate_days)
    if overwrite_suspension and overwrite_termination and suspend_days >= terminate_days:
        problems.setdefault("suspend_days", SUSPEND_NOT_BELOW_TERMINATE)
        problems.setdefault("terminate_days", TERMINATE_NOT_ABOVE_SUSPEND)
    return problems


def rule_target_label(rule):
    if rule.product_id:
        return f"product {rule.product.name}"
    return f"group {rule.product_group.name}"


def override_effect(rule, settings):
    """What an existing override does under the current global settings: a list of notes, empty when it takes
    effect in full. For the admin's "takes effect" column and the warning after global settings change."""
    notes = []
    per_group = settings.override_type == AutomationSettings.OverrideType.GROUP
    if per_group != bool(rule.product_group_id):
        kind = "product groups" if per_group else "products"
        notes.append(f"Not in effect: overrides currently apply to {kind} (Override type).")
        return notes
    if not (rule.overwrite_suspension or rule.overwrite_termination):
        notes.append("Not in effect: neither Overwrite Suspension nor Overwrite Termination is on.")
    if _exceeds(rule, settings, SUSPEND):
        notes.append(
            f"Suspension override not in effect: its {rule.suspend_days} days exceed the global Suspend Days "
            f"({settings.suspend_days}), which apply instead."
        )
    if _exceeds(rule, settings, TERMINATE):
        notes.append(
            f"Termination override not in effect: its {rule.terminate_days} days exceed the global Termination "
            f"Days ({settings.terminate_days}), which apply instead."
        )
    if rule.overwrite_suspension and rule.overwrite_termination and rule.suspend_days >= rule.terminate_days:
        notes.append("Inconsistent: the suspension days are not less than the termination days.")
    return notes


def _exceeds(rule, settings, action):
    if action == SUSPEND:
        return rule.overwrite_suspension and settings.suspension_enabled and rule.suspend_days > settings.suspend_days
    return rule.overwrite_termination and settings.termination_enabled and rule.terminate_days > settings.terminate_days


class Rules:
    """The rules of one run: the global settings and the overrides of the configured type, read in two queries.

    `field` is the Service lookup the overrides key on ("product_id" or "product__group_id");
    `for_target(action, target_id)` gives the Rule for a product (or group) id, or None when the action is off
    for it."""

    def __init__(self, settings, overrides):
        self.settings = settings
        self.per_group = settings.override_type == AutomationSettings.OverrideType.GROUP
        self.field = "product__group_id" if self.per_group else "product_id"
        self.overrides = {(o.product_group_id if self.per_group else o.product_id): o for o in overrides}

    @classmethod
    def load(cls, settings=None):
        settings = settings or AutomationSettings.load()
        kind = {"product_group__isnull": False} if settings.override_type == "group" else {"product__isnull": False}
        overrides = OverwriteRule.objects.filter(**kind).select_related("product", "product_group")
        return cls(settings, list(overrides))

    @property
    def every_run(self):
        return self.settings.override_cron_mode == AutomationSettings.OverrideCronMode.EVERY_RUN

    def global_rule(self, action):
        s = self.settings
        if action == SUSPEND:
            return Rule(SUSPEND, s.suspend_days, GLOBAL) if s.suspension_enabled else None
        return Rule(TERMINATE, s.terminate_days, GLOBAL) if s.termination_enabled else None

    def override_rule(self, action, target_id):
        """The override's Rule when it takes effect for this action; None otherwise."""
        override = self.overrides.get(target_id)
        if override is None:
            return None
        on = override.overwrite_suspension if action == SUSPEND else override.overwrite_termination
        if not on or _exceeds(override, self.settings, action):
            return None
        days = override.suspend_days if action == SUSPEND else override.terminate_days
        return Rule(action, days, f"override: {rule_target_label(override)}", override=True)

    def for_target(self, action, target_id):
        rule = self.override_rule(action, target_id)
        if rule is not None:
            return rule
        rule = self.global_rule(action)
        override = self.overrides.get(target_id)
        if rule is not None and override is not None and _exceeds(override, self.settings, action):
            days = override.suspend_days if action == SUSPEND else override.terminate_days
            note = f"the override for {rule_target_label(override)} ({days} days) exceeds it and does not take effect"
            rule = Rule(rule.action, rule.days, rule.label, note=note)
        return rule

    def override_targets(self, action):
        """{days: [target ids]} of the overrides that take effect for `action`."""
        by_days = {}
        for target_id in self.overrides:
            rule = self.override_rule(action, target_id)
            if rule is not None:
                by_days.setdefault(rule.days, []).append(target_id)
        return by_days

    def send_suspension_email(self, rule):
        """Seed 001's own "Send Suspension Email" for override suspensions; seed 004's for the global rule."""
        if rule.override:
            return self.settings.override_send_suspension_email
        return self.settings.send_suspension_email
