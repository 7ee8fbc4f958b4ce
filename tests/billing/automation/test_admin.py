"""The staff pages: seed 001's parameter rules refused with the seed's words, overrides marked when the global
settings changed under them (never adjusted), configuration changes logged, and the dashboard's next-run preview."""
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.automation import rules
from billing.automation.forms import OverwriteRuleForm
from billing.models import AutomationSettings, Invoice, OverwriteRule, Service
from portal.models import ActivityLog
from tests.billing.automation.conftest import S, overdue_service, override
from tests.factories import ProductFactory, ProductGroupFactory

pytestmark = pytest.mark.django_db


def form(**data):
    base = {"overwrite_suspension": False, "suspend_days": 0, "overwrite_termination": False, "terminate_days": 0}
    return OverwriteRuleForm(data={**base, **data})


@pytest.mark.parametrize(
    "global_settings, data, errors",
    [
        # "The 'Overwrite Suspension' parameter cannot exceed the 'Suspend Days' value ... (if enabled)"
        ({"suspension_enabled": True, "suspend_days": 5}, {"overwrite_suspension": True, "suspend_days": 6},
         {"suspend_days": rules.SUSPEND_EXCEEDS_GLOBAL.format(days=5)}),
        ({"suspension_enabled": True, "suspend_days": 5}, {"overwrite_suspension": True, "suspend_days": 5}, {}),
        ({"suspension_enabled": False, "suspend_days": 5}, {"overwrite_suspension": True, "suspend_days": 60}, {}),
        ({"suspension_enabled": True, "suspend_days": 5}, {"overwrite_suspension": False, "suspend_days": 60}, {}),
        # "The 'Overwrite Termination' parameter cannot exceed the 'Termination Days' value ... (if enabled)"
        ({"termination_enabled": True, "terminate_days": 30}, {"overwrite_termination": True, "terminate_days": 31},
         {"terminate_days": rules.TERMINATE_EXCEEDS_GLOBAL.format(days=30)}),
        ({"termination_enabled": False}, {"overwrite_termination": True, "terminate_days": 90}, {}),
        # "must always be less than / greater than" (both enabled)
        ({"suspension_enabled": False}, {"overwrite_suspension": True, "suspend_days": 10,
                                         "overwrite_termination": True, "terminate_days": 10},
         {"suspend_days": rules.SUSPEND_NOT_BELOW_TERMINATE, "terminate_days": rules.TERMINATE_NOT_ABOVE_SUSPEND}),
        ({"suspension_enabled": False}, {"overwrite_suspension": True, "suspend_days": 9,
                                         "overwrite_termination": True, "terminate_days": 10}, {}),
        ({"suspension_enabled": False}, {"overwrite_suspension": False, "suspend_days": 20,
                                         "overwrite_termination": True, "terminate_days": 10}, {}),
    ],
)
def test_overwrite_rule_validation_as_seed_001(automation, global_settings, data, errors):
    automation(**global_settings)
    product = ProductFactory()
    bound = form(product=product.pk, **data)
    assert bound.is_valid() == (not errors)
    assert {field: msgs[0] for field, msgs in bound.errors.items()} == errors


def test_the_messages_name_the_rule_as_the_seed_does():
    assert rules.SUSPEND_EXCEEDS_GLOBAL.startswith(
        'The "Overwrite Suspension" parameter cannot exceed the "Suspend Days"'
    )
    assert rules.TERMINATE_NOT_ABOVE_SUSPEND == (
        'The "Overwrite Termination" parameter must always be greater than the "Overwrite Suspension" parameter.'
    )


@pytest.mark.parametrize("targets, valid", [({}, False), ({"product": True, "group": True}, False),
                                            ({"group": True}, True)])
def test_a_rule_targets_a_product_or_a_group(automation, targets, valid):
    product, group = ProductFactory(), ProductGroupFactory()
    data = {"product": product.pk if targets.get("product") else "",
            "product_group": group.pk if targets.get("group") else ""}
    assert form(**data).is_valid() == valid


def test_overrides_are_not_adjusted_but_marked_when_global_settings_change(client, staff_user, automation):
    automation(suspension_enabled=True, suspend_days=10, termination_enabled=True, terminate_days=40)
    product = ProductFactory(name="VM")
    rule = override(product, suspend=8, terminate=35)
    client.force_login(staff_user)
    listing = client.get(reverse("admin:billing_overwriterule_changelist"))
    assert b"Takes effect" in listing.content and b"not in effect" not in listing.content

    settings = AutomationSettings.load()
    response = client.post(
        reverse("admin:billing_automationsettings_change", args=[settings.pk]),
        {**_settings_form(settings), "suspend_days": 5}, follow=True,
    )
    assert response.status_code == 200
    assert "These do not take effect in full now" in response.content.decode()
    rule.refresh_from_db()
    assert (rule.suspend_days, rule.terminate_days) == (8, 35)  # not adjusted (seed 001)
    listing = client.get(reverse("admin:billing_overwriterule_changelist")).content.decode()
    assert "Suspension override not in effect: its 8 days exceed the global Suspend Days (5)" in listing


def test_rules_of_the_other_type_are_marked(automation):
    settings = automation(override_type="group")
    notes = rules.override_effect(override(ProductFactory(), suspend=1), settings)
    assert notes == ["Not in effect: overrides currently apply to product groups (Override type)."]


def _settings_form(settings):
    return {
        "suspension_enabled": "on" if settings.suspension_enabled else "", "suspend_days": settings.suspend_days,
        "send_suspension_email": "on", "unsuspend_on_payment": "on", "send_unsuspension_email": "on",
        "termination_enabled": "on" if settings.termination_enabled else "", "terminate_days": settings.terminate_days,
        "override_type": settings.override_type, "override_cron_mode": settings.override_cron_mode,
        "override_send_suspension_email": "on", "daily_run_time": "09:00", "invoice_days_before_due": 14,
        "client_status_update": settings.client_status_update,
    }


def test_configuration_changes_are_logged_with_the_changed_fields(client, staff_user, automation):
    settings = automation()
    client.force_login(staff_user)
    client.post(reverse("admin:billing_automationsettings_change", args=[settings.pk]),
                {**_settings_form(settings), "suspend_days": 3, "override_cron_mode": "every_run"})
    entry = ActivityLog.objects.get(action="automation_settings.change")
    assert entry.data["changes"] == {"suspend_days": {"from": 5, "to": 3},
                                     "override_cron_mode": {"from": "daily", "to": "every_run"}}
    assert entry.actor_label == staff_user.username

    product = ProductFactory(name="VM")
    client.post(reverse("admin:billing_overwriterule_add"),
                {"product": product.pk, "overwrite_suspension": "on", "suspend_days": 2, "terminate_days": 0})
    rule = OverwriteRule.objects.get()
    created = ActivityLog.objects.get(action="overwrite_rule.create")
    assert created.data["changes"]["suspend_days"]["to"] == 2
    client.post(reverse("admin:billing_overwriterule_change", args=[rule.pk]),
                {"product": product.pk, "overwrite_suspension": "on", "suspend_days": 1, "terminate_days": 0})
    assert ActivityLog.objects.get(action="overwrite_rule.change").data["changes"] == {
        "suspend_days": {"from": 2, "to": 1}
    }
    client.post(reverse("admin:billing_overwriterule_delete", args=[rule.pk]), {"post": "yes"})
    assert ActivityLog.objects.filter(action="overwrite_rule.delete").count() == 1


def test_the_admin_form_shows_the_seed_message(client, staff_user, automation):
    automation(suspension_enabled=True, suspend_days=5)
    client.force_login(staff_user)
    response = client.post(reverse("admin:billing_overwriterule_add"),
                           {"product": ProductFactory().pk, "overwrite_suspension": "on", "suspend_days": 9,
                            "terminate_days": 0})
    assert response.status_code == 200
    expected = "cannot exceed the &quot;Suspend Days&quot; value from the global configuration (5 days)"
    assert expected in response.content.decode()
    assert not OverwriteRule.objects.exists()


def test_the_dashboard_previews_the_next_run(client, staff_user, automation):
    automation(termination_enabled=True, terminate_days=30)
    week_ago = timezone.localdate() - timedelta(days=7)
    service = overdue_service(days=0)
    Service.objects.filter(pk=service.pk).update(next_due_date=week_ago)
    Invoice.objects.filter(items__service=service).update(due_date=week_ago)
    client.force_login(staff_user)
    page = client.get("/admin/").content.decode()
    assert "Next automation run" in page and service.domain in page and "Suspend: <strong>1</strong>" in page
    assert S.ACTIVE == Service.objects.get(pk=service.pk).status  # a preview changes nothing
