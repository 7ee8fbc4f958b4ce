"""Tax: WHMCS's tax rules (tbltax) as TaxRule rows, the settings that decide how tax is figured (reported, since
they are the portal's environment settings), and each invoice's tax breakdown (InvoiceTaxLine per level) from the
rates and amounts WHMCS stored on it (docs/whmcs-migration.md, "Tax")."""
import re
from decimal import Decimal

from django.conf import settings

from billing.models import InvoiceTaxLine, TaxRule
from whmcs_import.source import flag, text
from whmcs_import.writer import chunked, sync, sync_by_key

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
COUNTRY = re.compile(r"^[A-Z]{2}$")
LINE_KEY = ("invoice_id", "level")
LINE_VALUES = ("name", "rate", "compound", "country", "region", "base", "tax")
LINES_PER_BATCH = 5000  # invoices whose lines are compared in one query
RULE_FIELDS = ["country", "region", "level", "name", "rate", "compound"]


def import_tax_rules(run):
    """The tax settings first (level 2 compounding decides the rules' `compound` and the invoices' lines), then
    tbltax. A rule that overlaps one already there (the same country, state and level) is refused, as TaxRule's
    validation refuses it in the staff area."""
    config = {row["setting"]: text(row["value"]) for row in run.source.rows(
        "SELECT setting, value FROM tblconfiguration WHERE setting IN ('TaxEnabled', 'TaxType', 'TaxL2Compound', "
        "'TaxPerLineItem')")}
    run.tax_l2_compound = flag(config.get("TaxL2Compound"))
    run.tax_inclusive = config.get("TaxType", "").lower() == "inclusive"
    run.tax_rounding = "line" if flag(config.get("TaxPerLineItem")) else "invoice"
    _report_environment_settings(run, config)
    if not run.source.has_table("tbltax"):
        return
    rows = run.source.rows("SELECT id, level, name, state, country, taxrate FROM tbltax ORDER BY id")
    run.tax_rules = rows
    mine = {int(pk) for pk in run.mapping.of("tbltax").values()}
    taken = {(c, r.lower(), lv): (pk, name) for pk, c, r, lv, name in
             TaxRule.objects.values_list("pk", "country", "region", "level", "name") if pk not in mine}
    records, seen = [], {}
    for row in rows:
        country, region, level = text(row["country"]).upper(), " ".join(text(row["state"]).split()), row["level"]
        reason = _refusal(country, level, row["taxrate"])
        key = (country, region.lower(), level)
        if reason is None and key in taken:
            reason = f"overlaps the portal's rule {taken[key][1]!r} (same country, state and level): change that one"
        if reason is None and key in seen:
            reason = f"overlaps WHMCS tax rule #{seen[key]} (same country, state and level)"
        if reason:
            run.report.skip("tbltax", row["id"], reason)
            continue
        seen[key] = row["id"]
        records.append((str(row["id"]), {
            "country": country, "region": region[:100], "level": level, "name": text(row["name"], 60) or "Tax",
            "rate": row["taxrate"], "compound": level == 2 and run.tax_l2_compound}))
    sync(run, TaxRule, "tbltax", records, RULE_FIELDS)


def _refusal(country, level, rate):
    if level not in (1, 2):
        return f"level {level}: the portal has levels 1 and 2"
    if country == "":
        return ("applies to every country: a portal tax rule is for one country (add one rule per country in the "
                "staff area)")
    if not COUNTRY.match(country):
        return f"country {country!r} is not a 2-letter code"
    if not 0 <= rate <= 100:
        return f"rate {rate} is not a percentage from 0 to 100"
    return None


def _report_environment_settings(run, config):
    """TaxType and TaxPerLineItem are the portal's TAX_PRICES_INCLUDE_TAX and TAX_ROUNDING, environment settings
    the import cannot change: the report says what to set where they differ."""
    settings_compared = [  # (WHMCS key, its value as shown, portal setting, the value it needs, the value it has)
        ("TaxType", config.get("TaxType"), "TAX_PRICES_INCLUDE_TAX", str(run.tax_inclusive).lower(),
         str(settings.TAX_PRICES_INCLUDE_TAX).lower()),
        ("TaxPerLineItem", "on" if run.tax_rounding == "line" else "off", "TAX_ROUNDING", run.tax_rounding,
         settings.TAX_ROUNDING),
    ]
    for key, shown, setting, needed, current in settings_compared:
        if key in config and needed != current:
            run.report.notes.append(f"WHMCS's {key} is {shown}: set {setting}={needed} in the portal's environment "
                                    f"(it is now {current}).")


def import_invoice_tax_lines(run):
    """Each imported invoice's breakdown: level 1 from taxrate/tax, level 2 from taxrate2/tax2, charged on the
    invoice's taxed items, net (with WHMCS's Inclusive tax type their amounts include the tax, which is taken off),
    level 2 compounding on the level 1 tax when TaxL2Compound is on. Compared per batch of
    invoices with the lines there: only new and changed lines are written, lines no longer wanted are deleted."""
    taxable = {row["k"]: row["v"] for row in run.source.rows(
        "SELECT invoiceid AS k, SUM(amount) AS v FROM tblinvoiceitems WHERE taxed = 1 GROUP BY invoiceid")}
    names = _rule_names(run)
    wanted = []
    for whmcs_id, (client, rate1, tax1, rate2, tax2) in run.invoice_taxes.items():
        if whmcs_id not in run.invoices:
            continue
        base = (taxable.get(whmcs_id) or ZERO).quantize(CENT)
        if run.tax_inclusive:
            base -= tax1 + tax2
        country, state = run.client_region.get(client, ("", ""))
        level_2_base = base + tax1 if run.tax_l2_compound else base
        for level, rate, tax, line_base in ((1, rate1, tax1, base), (2, rate2, tax2, level_2_base)):
            if rate or tax:
                name, region = names(level, rate, country, state)
                wanted.append({"invoice_id": run.invoices[whmcs_id], "level": level, "name": name, "rate": rate,
                               "compound": level == 2 and run.tax_l2_compound, "country": country, "region": region,
                               "base": line_base, "tax": tax})
    by_invoice = {}
    for line in wanted:
        by_invoice.setdefault(line["invoice_id"], []).append(line)
    totals = [0, 0, 0]
    for batch in chunked(sorted(run.invoices.values()), LINES_PER_BATCH):
        rows = [line for pk in batch for line in by_invoice.get(pk, ())]
        result = sync_by_key(InvoiceTaxLine, rows, LINE_KEY, LINE_VALUES, existing_filter={"invoice_id__in": batch})
        totals = [a + b for a, b in zip(totals, result)]
    run.report.count("tblinvoices (tax lines)", "created", totals[0])
    run.report.count("tblinvoices (tax lines)", "updated", totals[1])
    run.report.count("tblinvoices (tax lines)", "unchanged", len(wanted) - totals[0] - totals[1])
    if totals[2]:
        run.report.count("tblinvoices (tax lines)", "deleted", totals[2])


def _rule_names(run):
    """(level, rate, client's country, state) → (name, state) of the WHMCS rule of that rate that applies: the
    state's rule, else the country's, else the one for every country; 'Tax' / 'Tax 2' when none has that rate (an
    invoice keeps the rate it was issued with, which a rule may no longer have)."""
    rules = {}
    for row in run.tax_rules:
        key = (row["level"], text(row["country"]).upper(), text(row["state"]).lower())
        rules.setdefault(key, (row["taxrate"], text(row["name"], 60) or "Tax", text(row["state"], 100)))
    default = {1: ("Tax", ""), 2: ("Tax 2", "")}

    def name(level, rate, country, state):
        for key in ((level, country, state.lower()), (level, country, ""), (level, "", "")):
            if key in rules and rules[key][0] == rate:
                return rules[key][1:]
        return default[level]
    return name
