"""Currencies, client groups, clients, their contacts, and their logins (WHMCS 8 users and their client links)."""
import hashlib
import re

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone

from portal.models import Client, ClientUser, Contact, VatCheck
from portal.vat import is_foreign_tax_id, vat_number_clean
from whmcs_import.models import ImportedRecord, PendingPasswordReset
from whmcs_import.source import flag, moment, text
from whmcs_import.writer import READ_BATCH, Keep, chunked, sync

User = get_user_model()
CLIENT_STATUS = {"Active": Client.Status.ACTIVE, "Inactive": Client.Status.INACTIVE, "Closed": Client.Status.CLOSED}
BCRYPT = re.compile(r"^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$")
# A password that cannot be used (Django: starts with "!"), the same on every run so a re-run changes nothing.
RESET_NEEDED = "!whmcs-import-reset-needed"
CURRENCY_CODE = re.compile(r"^[A-Z]{3}$")


def import_currencies(run):
    rows = run.source.rows("SELECT id, code, `default` FROM tblcurrencies ORDER BY id")
    for row in rows:
        code = text(row["code"]).upper()
        if CURRENCY_CODE.match(code):
            run.currencies[row["id"]] = code
            run.report.count("tblcurrencies", "unchanged")
            if row["default"]:
                run.default_currency = code
        else:
            run.report.skip("tblcurrencies", row["id"], f"{code!r} is not an ISO 4217 code")
    if run.default_currency is None and run.currencies:
        run.default_currency = next(iter(run.currencies.values()))
    run.default_currency = run.default_currency or "USD"
    run.report.notes.append("Currencies are codes on clients, prices and invoices in the portal (no exchange "
                            "rates are kept): " + ", ".join(sorted(set(run.currencies.values()))) + ".")


def import_client_groups(run):
    for row in run.source.rows("SELECT id, groupname FROM tblclientgroups ORDER BY id"):
        run.report.skip("tblclientgroups", row["id"], "the portal has no client groups (discounts and exemptions "
                        "per group are not carried over); the group's clients are imported")


def _client_values(run, row):
    country = text(row["country"]).upper()
    if not re.fullmatch(r"[A-Z]{2}", country):
        run.report.change("tblclients", row["id"], "country missing or not a 2-letter code: set to US")
        country = "US"
    currency = run.currencies.get(row["currency"], run.default_currency)
    status = CLIENT_STATUS.get(text(row["status"]), Client.Status.ACTIVE)
    created = moment(row["datecreated"]) or moment(row["created_at"]) or Keep(run.started_at)
    return {
        "company_name": text(row["companyname"], 200), "first_name": text(row["firstname"], 100),
        "last_name": text(row["lastname"], 100), "email": text(row["email"], 254), "phone": text(row["phonenumber"], 40),
        "address1": text(row["address1"], 200), "address2": text(row["address2"], 200), "city": text(row["city"], 100),
        "state": text(row["state"], 100), "postcode": text(row["postcode"], 20), "country": country,
        "currency": currency, "status": status, "tax_exempt": flag(row["taxexempt"]), "notes": text(row["notes"]),
        "language": text(row["language"], 40), "created_at": created,
    }


CLIENT_FIELDS = ["company_name", "first_name", "last_name", "email", "phone", "address1", "address2", "city",
                 "state", "postcode", "country", "currency", "status", "tax_exempt", "notes", "language", "created_at",
                 "vat_number", "vat_check", "vat_checked_at"]


def import_clients(run):
    tax_id = "tax_id" if run.source.has_column("tblclients", "tax_id") else "'' AS tax_id"  # WHMCS 8 added it
    run.progress.start("clients", run.source.count("tblclients"))
    for rows in run.source.chunks(
            "SELECT id, firstname, lastname, companyname, email, address1, address2, city, state, postcode, country, "
            f"phonenumber, currency, credit, taxexempt, notes, status, language, datecreated, created_at, {tax_id} "
            "FROM tblclients ORDER BY id"):
        numbers = _current_vat_numbers(run, rows)
        records = []
        for row in rows:
            values = _client_values(run, row)
            values.update(_vat_values(run, row, values["country"], numbers))
            run.client_currency[row["id"]] = values["currency"]
            run.client_region[row["id"]] = (values["country"], values["state"])
            run.whmcs_credit[row["id"]] = row["credit"]
            records.append((str(row["id"]), values))
        run.clients.update({int(k): v for k, v in sync(run, Client, "tblclients", records, CLIENT_FIELDS).items()})
        run.progress.advance(len(rows))
    run.progress.finish()


def _current_vat_numbers(run, rows):
    """{portal client pk: VAT number} of the chunk's clients imported before (one query)."""
    pks = [pk for pk in (run.mapping.get("tblclients", row["id"]) for row in rows) if pk is not None]
    return dict(Client.objects.filter(pk__in=pks).values_list("pk", "vat_number")) if pks else {}


def _vat_values(run, row, country, numbers):
    """tblclients.tax_id as the VAT number, checked for format and check digits only (VIES is not asked during an
    import); a non-EU client's other tax id is kept as given. An invalid one is left out and reported with the reason. A number the portal has already (and may
    have had VIES confirm since) keeps its check."""
    number = text(row["tax_id"])
    if number:
        try:
            number = vat_number_clean(number, country)
        except ValidationError as exc:
            run.report.change("tblclients", row["id"],
                              f"tax_id {text(row['tax_id'])!r} not imported: {exc.messages[0]}")
            number = ""
    if not number:
        return {"vat_number": "", "vat_check": "", "vat_checked_at": None}
    # A tax id of a client outside the EU that is no EU VAT number is kept as given, never checked (portal/vat.py).
    check = VatCheck.FOREIGN if is_foreign_tax_id(number, country) else VatCheck.FORMAT
    pk = run.mapping.get("tblclients", row["id"])
    if pk is not None and numbers.get(pk) == number:
        return {"vat_number": number, "vat_check": Keep(check), "vat_checked_at": Keep(run.started_at)}
    return {"vat_number": number, "vat_check": check, "vat_checked_at": run.started_at}


CONTACT_FIELDS = ["client_id", "first_name", "last_name", "company_name", "email", "phone", "address1", "address2",
                  "city", "state", "postcode", "country", "general_emails", "invoice_emails", "product_emails",
                  "domain_emails", "support_emails"]


def import_contacts(run):
    records = []
    for row in run.source.rows("SELECT * FROM tblcontacts ORDER BY id"):
        client_id = run.clients.get(row["userid"])
        if client_id is None:
            run.report.skip("tblcontacts", row["id"], "its client does not exist in WHMCS")
            continue
        country = text(row["country"]).upper()
        records.append((str(row["id"]), {
            "client_id": client_id, "first_name": text(row["firstname"], 100) or text(row["email"], 100),
            "last_name": text(row["lastname"], 100), "company_name": text(row["companyname"], 200),
            "email": text(row["email"], 254), "phone": text(row["phonenumber"], 40),
            "address1": text(row["address1"], 200), "address2": text(row["address2"], 200),
            "city": text(row["city"], 100), "state": text(row["state"], 100), "postcode": text(row["postcode"], 20),
            "country": country if re.fullmatch(r"[A-Z]{2}", country) else "",
            "general_emails": flag(row["generalemails"]), "invoice_emails": flag(row["invoiceemails"]),
            "product_emails": flag(row["productemails"]), "domain_emails": flag(row["domainemails"]),
            "support_emails": flag(row["supportemails"]),
        }))
    sync(run, Contact, "tblcontacts", records, CONTACT_FIELDS)


def _fingerprint(whmcs_hash):
    return hashlib.sha256(whmcs_hash.encode()).hexdigest()[:32]


def portal_password(whmcs_hash):
    """The password field for a WHMCS hash: its bcrypt kept (checked by portal.hashers), else unusable."""
    return f"whmcs_bcrypt${whmcs_hash}" if BCRYPT.match(whmcs_hash) else RESET_NEEDED


USER_FIELDS = ["username", "email", "first_name", "last_name"]


def import_users(run):
    """WHMCS 8 logins: a user may manage several clients there, a portal login belongs to one client (its owner
    link first); the other links are reported. Passwords: bcrypt kept, anything else needs a reset."""
    links = {}
    for link in run.source.rows("SELECT auth_user_id, client_id, owner FROM tblusers_clients ORDER BY owner DESC, id"):
        if link["client_id"] in run.clients:
            links.setdefault(link["auth_user_id"], []).append(link)
    users = run.source.rows("SELECT id, first_name, last_name, email, password FROM tblusers ORDER BY id")
    mapping = run.mapping.of("tblusers")
    taken = _usernames_taken(run, [text(u["email"]).lower() for u in users], set(mapping.values()))
    records, create_only, fingerprints, chosen = [], {}, {}, {}
    for user in users:
        whmcs_id, email = str(user["id"]), text(user["email"], 150)
        if not links.get(user["id"]):
            run.report.skip("tblusers", user["id"], "not linked to any client")
            continue
        if not email or email.lower() in taken:
            run.report.skip("tblusers", user["id"], "no e-mail, or another portal login (staff or client) has it")
            continue
        taken.add(email.lower())
        owner_link, *others = links[user["id"]]
        if others:
            run.report.change("tblusers", user["id"], "linked to several clients: a portal login belongs to one "
                              "(its owner link first); the others were left out")
        chosen[whmcs_id] = owner_link
        records.append((whmcs_id, {"username": email.lower(), "email": email,
                                   "first_name": text(user["first_name"], 150), "last_name": text(user["last_name"], 150)}))
        whmcs_hash = text(user["password"])
        create_only[whmcs_id] = {"password": portal_password(whmcs_hash), "date_joined": run.started_at}
        fingerprints[whmcs_id] = _fingerprint(whmcs_hash)
    result = sync(run, User, "tblusers", records, USER_FIELDS, create_only=create_only, fingerprints=fingerprints)
    _refresh_passwords(run, result, create_only, fingerprints)
    _link_users(run, result, chosen)
    _queue_resets(run, result, create_only)


def _usernames_taken(run, emails, mapped_pks):
    taken = set()
    for batch in chunked(emails, READ_BATCH):
        for pk, username, email in User.objects.filter(username__in=batch).values_list("pk", "username", "email"):
            if pk not in mapped_pks:
                taken.add(username.lower())
    return taken


def _refresh_passwords(run, result, create_only, fingerprints):
    """Store each login's WHMCS fingerprint; overwrite the portal password only where WHMCS's hash changed since
    the last run (a login that already signed in to the portal keeps its re-hashed password)."""
    known = run.mapping.fingerprints("tblusers")
    changed = [w for w in result if known.get(w) and known[w] != fingerprints[w]]
    if changed:
        User.objects.bulk_update([User(pk=result[w], password=create_only[w]["password"]) for w in changed],
                                 ["password"], batch_size=1000)
        run.report.count("tblusers", "updated", len(changed))
    missing = {w: fingerprints[w] for w in result if known.get(w) and known[w] != fingerprints[w]}
    if missing:
        records = list(ImportedRecord.objects.filter(source="tblusers", whmcs_id__in=list(missing)))
        for record in records:
            record.fingerprint = missing[record.whmcs_id]
        ImportedRecord.objects.bulk_update(records, ["fingerprint"], batch_size=1000)
        known.update(missing)


def _link_users(run, result, chosen):
    existing = dict(ClientUser.objects.filter(user_id__in=list(result.values())).values_list("user_id", "pk"))
    current = {row[0]: row[1:] for row in ClientUser.objects.filter(pk__in=list(existing.values()))
               .values_list("user_id", "client_id", "is_owner")}
    to_create, to_update = [], []
    for whmcs_id, user_pk in result.items():
        link = chosen[whmcs_id]
        values = (run.clients[link["client_id"]], bool(link["owner"]))
        if user_pk not in existing:
            to_create.append(ClientUser(user_id=user_pk, client_id=values[0], is_owner=values[1]))
        elif current[user_pk] != values:
            to_update.append(ClientUser(pk=existing[user_pk], user_id=user_pk, client_id=values[0], is_owner=values[1]))
    ClientUser.objects.bulk_create(to_create, batch_size=1000)
    ClientUser.objects.bulk_update(to_update, ["client_id", "is_owner"], batch_size=1000)
    run.report.count("tblusers_clients", "created", len(to_create))
    run.report.count("tblusers_clients", "updated", len(to_update))
    run.report.count("tblusers_clients", "unchanged", len(result) - len(to_create) - len(to_update))


def _queue_resets(run, result, create_only):
    """Logins whose WHMCS hash could not be kept: listed in the report and queued for the reset e-mails, which
    only `manage.py send_whmcs_password_resets` sends."""
    needing = {result[w]: w for w, extra in create_only.items() if w in result and extra["password"] == RESET_NEEDED}
    if not needing:
        return
    usable = set(User.objects.filter(pk__in=list(needing)).exclude(password__startswith="!").values_list("pk", flat=True))
    needing = {pk: w for pk, w in needing.items() if pk not in usable}  # already set a password in the portal
    queued = set(PendingPasswordReset.objects.filter(user_id__in=list(needing)).values_list("user_id", flat=True))
    PendingPasswordReset.objects.bulk_create(
        [PendingPasswordReset(user_id=pk, reason="WHMCS password hash cannot be kept (not bcrypt)", queued_at=timezone.now())
         for pk in needing if pk not in queued], batch_size=1000)
    emails = dict(User.objects.filter(pk__in=list(needing)).values_list("pk", "email"))
    run.report.password_resets.extend(sorted(emails[pk] for pk in needing))

