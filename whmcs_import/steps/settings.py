"""E-mail templates, the automation settings of tblconfiguration, and PUQ-style overwrite rules (seed 001)."""
import html
import re

from django.utils.html import strip_tags

from billing.models import AutomationSettings, EmailTemplate, OverwriteRule
from portal.mail_text import smarty_to_django, unsupported_smarty
from whmcs_import.source import flag, text
from whmcs_import.writer import sync

TEMPLATE_CATEGORY = {"general": EmailTemplate.Category.GENERAL, "invoice": EmailTemplate.Category.INVOICE,
                     "product": EmailTemplate.Category.SERVICE}
LINE_BREAKS = re.compile(r"<br\s*/?>|</div>|</tr>", re.IGNORECASE)
PARAGRAPHS = re.compile(r"</p>|</h[1-6]>", re.IGNORECASE)


def plain_text(message):
    """A WHMCS HTML message as the portal's plain-text body."""
    text_only = html.unescape(strip_tags(PARAGRAPHS.sub("\n\n", LINE_BREAKS.sub("\n", message))))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in text_only.splitlines())).strip()


def import_email_templates(run):
    rows = run.source.rows("SELECT * FROM tblemailtemplates ORDER BY id")
    mapping = run.mapping.of("tblemailtemplates")
    by_name = dict(EmailTemplate.objects.values_list("name", "pk"))
    adopted, records = [], []
    for row in rows:
        name, category = text(row["name"], 120), TEMPLATE_CATEGORY.get(text(row["type"]).lower())
        if text(row["language"]):
            run.report.skip("tblemailtemplates", row["id"], "a translation: the portal keeps one text per template")
            continue
        if category is None:
            run.report.skip("tblemailtemplates", row["id"], f"a {row['type']!r} e-mail: the portal sends none of "
                            "that kind (domains, support, admin)")
            continue
        body = text(row["message"]) if flag(row["plaintext"]) else plain_text(text(row["message"]))
        subject, body = smarty_to_django(text(row["subject"], 255)), smarty_to_django(body)
        blocks = unsupported_smarty(subject + body)
        if blocks:
            run.report.skip("tblemailtemplates", row["id"], f"Smarty blocks the portal cannot convert "
                            f"({', '.join(blocks)}): rewrite the template in the staff area")
            continue
        if str(row["id"]) not in mapping and name in by_name:
            adopted.append((str(row["id"]), by_name[name]))  # WHMCS's text replaces the portal's template of that name
        records.append((str(row["id"]), {"name": name, "category": category, "subject": subject, "body": body,
                                         "disabled": flag(row["disabled"])}))
    if adopted:
        run.mapping.put("tblemailtemplates", adopted)
    sync(run, EmailTemplate, "tblemailtemplates", records, ["name", "category", "subject", "body", "disabled"])


CLIENT_STATUS_UPDATE = {"1": AutomationSettings.ClientStatusUpdate.OFF, "2": AutomationSettings.ClientStatusUpdate.PRODUCTS,
                        "3": AutomationSettings.ClientStatusUpdate.PRODUCTS_OR_LOGIN}


def import_automation_settings(run):
    config = {row["setting"]: text(row["value"]) for row in run.source.rows(
        "SELECT setting, value FROM tblconfiguration WHERE setting IN ('AutoSuspension', 'AutoSuspensionDays', "
        "'AutoUnsuspend', 'AutoTermination', 'AutoTerminationDays', 'AutoClientStatusChange', "
        "'CreateInvoiceDaysBefore', 'SendSuspensionEmail')")}
    settings = AutomationSettings.load_for_edit()
    wanted = {}
    if "AutoSuspension" in config:
        wanted["suspension_enabled"] = flag(config["AutoSuspension"])
    if "AutoUnsuspend" in config:
        wanted["unsuspend_on_payment"] = flag(config["AutoUnsuspend"])
    if "AutoTermination" in config:
        wanted["termination_enabled"] = flag(config["AutoTermination"])
    for setting, field in (("AutoSuspensionDays", "suspend_days"), ("AutoTerminationDays", "terminate_days"),
                           ("CreateInvoiceDaysBefore", "invoice_days_before_due")):
        if config.get(setting, "").isdigit():
            wanted[field] = int(config[setting])
    if config.get("AutoClientStatusChange") in CLIENT_STATUS_UPDATE:
        wanted["client_status_update"] = CLIENT_STATUS_UPDATE[config["AutoClientStatusChange"]]
    changed = _apply(run, settings, wanted)
    run.report.count("tblconfiguration", "updated", len(changed))
    run.report.count("tblconfiguration", "unchanged", len(wanted) - len(changed))


def _apply(run, settings, wanted):
    """Save the automation settings that differ from `wanted`; returns them (also kept for the activity log)."""
    changed = {field: value for field, value in wanted.items() if getattr(settings, field) != value}
    for field, value in changed.items():
        setattr(settings, field, value)
    if changed:
        settings.save()
        run.settings_changed.update(changed)
    return changed


PUQ_TABLE = "mod_puq_overwrite_suspend_termination"
PUQ_MODULE = "puq_overwrite_suspend_termination"


def import_overwrite_rules(run):
    """The PUQ add-on's rules, when its table is there: per product or per product group (seed 001)."""
    if not run.source.has_table(PUQ_TABLE):
        return
    records = []
    for row in run.source.rows(f"SELECT * FROM {PUQ_TABLE} ORDER BY id"):
        kind = text(row["type"]).lower()
        product = run.products.get(row["relid"]) if kind == "product" else None
        group = run.product_groups.get(row["relid"]) if kind == "group" else None
        if product is None and group is None:
            run.report.skip(PUQ_TABLE, row["id"], "its product or product group does not exist in WHMCS")
            continue
        records.append((str(row["id"]), {
            "product_id": product, "product_group_id": group,
            "overwrite_suspension": flag(row["overwrite_suspension"]), "suspend_days": max(row["suspend_days"] or 0, 0),
            "overwrite_termination": flag(row["overwrite_termination"]),
            "terminate_days": max(row["terminate_days"] or 0, 0)}))
    sync(run, OverwriteRule, PUQ_TABLE, records, ["product_id", "product_group_id", "overwrite_suspension",
                                                  "suspend_days", "overwrite_termination", "terminate_days"])
    if run.source.has_table("tbladdonmodules"):
        addon = {row["setting"]: text(row["value"]) for row in run.source.rows(
            "SELECT setting, value FROM tbladdonmodules WHERE module = %s", (PUQ_MODULE,))}
        settings = AutomationSettings.load_for_edit()
        wanted = {}
        if addon.get("type") in ("product", "group"):
            wanted["override_type"] = addon["type"]
        if addon.get("cron") in ("every_run", "daily"):
            wanted["override_cron_mode"] = addon["cron"]
        if "suspension_email" in addon:
            wanted["override_send_suspension_email"] = flag(addon["suspension_email"])
        _apply(run, settings, wanted)
