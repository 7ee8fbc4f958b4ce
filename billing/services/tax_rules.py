"""Staff changes to the tax rules, each audited. A rule that overlaps another of the same country, region and level
is refused (TaxRule.clean; the unique constraint stops two saves that race past it)."""
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.forms.models import model_to_dict

from billing.models import TaxRule
from portal.activity import log_activity

FIELDS = ["country", "region", "level", "name", "rate", "compound"]


@transaction.atomic
def tax_rule_save(*, rule, actor):
    """Create or change a rule (validated in full); audited with the old and new values."""
    before = model_to_dict(TaxRule.objects.get(pk=rule.pk), FIELDS) if rule.pk else None
    rule.full_clean()
    try:
        with transaction.atomic():
            rule.save()
    except IntegrityError:
        raise ValidationError(f"A level {rule.level} tax rule for {rule.country} {rule.region or '(whole country)'} "
                              "already exists: change that one instead.") from None
    after = model_to_dict(rule, FIELDS)
    log_activity(actor=actor, action="tax_rule.update" if before else "tax_rule.create", target=rule,
                 message=f"Tax rule {rule} {'changed' if before else 'added'}",
                 data={"before": {k: str(v) for k, v in (before or {}).items()}, "after": {k: str(v) for k, v in after.items()}})
    return rule


@transaction.atomic
def tax_rule_delete(*, rule, actor):
    log_activity(actor=actor, action="tax_rule.delete", target=rule, message=f"Tax rule {rule} deleted",
                 data={k: str(v) for k, v in model_to_dict(rule, FIELDS).items()})
    rule.delete()
