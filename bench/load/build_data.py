"""The load test's data, built in bulk into a MariaDB database of its own (issue 20): 25,000 clients with a
sign-in each, 100,000 services, 300,000 invoices (one line each), 1,000,000 call records — most of them on a few
big VoIP clients, the hard case — and 2,000,000 audit rows. Rows go in as multi-row INSERTs (mysqlclient's
executemany), not through the ORM: the figures are about reading this data, not writing it.

It also writes what locust needs into `--out` (bench/load/var/fixture.json): signed-in sessions (real Django
sessions, made here, so the test measures pages and not the password hash), ids to visit, and an API key.

    .venv/bin/python bench/load/build_data.py [--scale 1.0] [--database-url mysql://root@127.0.0.1:3306/portal_load]

--scale 0.1 builds a tenth of everything (a quick look); the database is dropped and created first.
"""
import argparse
import json
import random
import secrets
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from bench.voip_common import setup_django  # noqa: E402

BIG_VOIP_CLIENTS = 5  # the hard case: a few clients with most of the call records
BIG_VOIP_SHARE = 0.8
CALL_DAYS = 180  # the call records spread over the last half year
BATCH = 5_000
PASSWORD = "load-test-password"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--database-url", default="mysql://root@127.0.0.1:3306/portal_load")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "var" / "fixture.json"))
    parser.add_argument("--sessions", type=int, default=300, help="signed-in client sessions to hand to locust")
    return parser.parse_args()


ARGS = parse_args()
SIZES = {name: int(count * ARGS.scale) for name, count in
         {"clients": 25_000, "services": 100_000, "invoices": 300_000, "cdrs": 1_000_000, "audit": 2_000_000}.items()}
SMALL_VOIP_CLIENTS = max(50, int(2_000 * ARGS.scale))


def bench_secrets(path):
    """The SECRET_KEY and encryption key the sessions are made with; run.py starts gunicorn with the same ones
    (kept beside the fixture, never in the repository)."""
    from cryptography.fernet import Fernet

    path.parent.mkdir(parents=True, exist_ok=True)
    values = {"SECRET_KEY": secrets.token_urlsafe(50), "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode()}
    path.write_text(json.dumps(values))
    path.chmod(0o600)
    return values


setup_django("bench-load-", ARGS.database_url, **bench_secrets(Path(ARGS.out).with_name("secrets.json")))

from django.apps import apps  # noqa: E402
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.db import connection  # noqa: E402

from api.models import ApiKey  # noqa: E402
from billing.models import Product, ProductGroup, Service  # noqa: E402
from voip.models import CdrImport, CdrSource, RatePackage, VoipProduct  # noqa: E402

NOW = datetime.now(UTC).replace(microsecond=0)
TODAY = NOW.date()


def model_defaults(table, columns):
    """The columns of `table`'s model that `columns` leaves out, with the model's default for each: the schema
    grows (a later migration's NOT NULL column) without every builder below having to name it."""
    model = next(m for m in apps.get_models() if m._meta.db_table == table)
    missing = [f for f in model._meta.concrete_fields if f.column not in columns and not f.primary_key]
    defaults = {}
    for field in missing:
        if field.has_default() or not field.null:
            value = field.get_default()
            defaults[field.column] = field.get_db_prep_save(value, connection) if value is not None else ""
    return tuple(defaults), tuple(defaults.values())


def insert(table, columns, rows):
    """Multi-row INSERTs of `rows` (an iterable of tuples) in batches; returns the number of rows."""
    extra_columns, extra_values = model_defaults(table, columns)
    columns = (*columns, *extra_columns)
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"
    rows = (row + extra_values for row in rows) if extra_columns else rows
    done, batch = 0, []
    with connection.cursor() as cursor:
        cursor.execute("SET SESSION foreign_key_checks = 0")  # the builder's ids are right by construction
        for row in rows:
            batch.append(row)
            if len(batch) == BATCH:
                cursor.executemany(sql, batch)
                done, batch = done + len(batch), []
        if batch:
            cursor.executemany(sql, batch)
            done += len(batch)
        cursor.execute("SET SESSION foreign_key_checks = 1")
    return done


def timed(label, build):
    started = time.perf_counter()
    count = build()
    print(f"{label}: {count:,} rows in {time.perf_counter() - started:.1f} s", flush=True)


def catalogue():
    mail_group = ProductGroup.objects.create(name="Email hosting")
    voip_group = ProductGroup.objects.create(name="VoIP")
    mail = Product.objects.create(group=mail_group, name="Mail Pro", type=Product.Type.MAIL, module="")
    voip = Product.objects.create(group=voip_group, name="VoIP Metered", type=Product.Type.VOIP, module="",
                                  module_options={"default_region": "US", "local_npa": ["212"]})
    VoipProduct.objects.create(product=voip, rate_package=RatePackage.objects.create(name="Load deck"))
    source = CdrSource.objects.create(name="Load source", kind=CdrSource.Kind.FILE)
    cdr_import = CdrImport.objects.create(source=source, kind=CdrImport.Kind.UPLOAD, status=CdrImport.Status.DONE)
    return mail, voip, source, cdr_import


def build_clients(first_client, first_user):
    clients = SIZES["clients"]
    timed("clients", lambda: insert("portal_client", (
        "id", "company_name", "first_name", "last_name", "email", "phone", "address1", "address2", "city", "state",
        "postcode", "country", "currency", "status", "tax_exempt", "apply_credit_to_invoices", "credit_balance",
        "has_voip_service", "voip_suspended", "manual_voip_suspend", "notes", "created_at", "updated_at",
        "voip_credit_limit", "time_zone", "email_verification_pending", "signup_source", "terms_version"),
        ((first_client + n, f"Company {n}" if n % 3 else "", f"First{n}", f"Last{n}", f"client{n}@load.example",
          "+12125550100", f"{n} Main Street", "", "New York", "NY", "10001", "US", "USD",
          "active" if n % 20 else "inactive", 0, 1, "25.0000", int(n < BIG_VOIP_CLIENTS + SMALL_VOIP_CLIENTS),
          "none", 0, "", NOW - timedelta(days=n % 1500), NOW, "0.00", "", 0, "staff", "")
         for n in range(clients))))
    password = make_password(PASSWORD)  # one hash for every sign-in: the builder must not spend minutes hashing
    timed("sign-ins", lambda: insert("auth_user", (
        "id", "password", "is_superuser", "username", "first_name", "last_name", "email", "is_staff", "is_active",
        "date_joined"),
        ((first_user + n, password, 0, f"client{n}@load.example", f"First{n}", f"Last{n}", f"client{n}@load.example",
          0, 1, NOW) for n in range(clients))))
    insert("portal_clientuser", ("is_owner", "client_id", "user_id"),
           ((1, first_client + n, first_user + n) for n in range(clients)))


def build_services(first_client, first_service, mail, voip, rng):
    """Every VoIP client has one VoIP service (the first service of its block); the rest are mail services,
    spread evenly over the clients (4 per client at full size)."""
    clients, services = SIZES["clients"], SIZES["services"]
    voip_clients = BIG_VOIP_CLIENTS + SMALL_VOIP_CLIENTS
    per_client = max(1, services // clients)

    def rows():
        for n in range(services):
            client_n, slot = n // per_client % clients, n % per_client
            is_voip = slot == 0 and client_n < voip_clients
            status = "active" if n % 25 else rng.choice(("suspended", "terminated", "cancelled", "pending"))
            module_data = {"tenant": f"t{client_n}.load.example", "dids": [f"1646{client_n:07d}"]} if is_voip else {}
            registered = TODAY - timedelta(days=n % 1400)
            yield (first_service + n, f"s{n}.client{client_n}.load.example", status, "monthly", "USD", "9.95", "9.95",
                   registered, TODAY + timedelta(days=n % 30), TODAY + timedelta(days=n % 30 - 7), "", "", "", "",
                   json.dumps(module_data), "", "", "", "", NOW, NOW, first_client + client_n,
                   (voip if is_voip else mail).pk)

    timed("services", lambda: insert("billing_service", (
        "id", "domain", "status", "billing_cycle", "currency", "first_payment_amount", "recurring_amount",
        "registration_date", "next_due_date", "next_invoice_date", "suspend_reason", "suspend_reason_text",
        "suspend_mode", "username", "module_data", "password", "cancellation_type", "cancellation_reason",
        "notes", "created_at", "updated_at", "client_id", "product_id"), rows()))
    return per_client


def build_invoices(first_client, first_service, per_client):
    clients, invoices = SIZES["clients"], SIZES["invoices"]
    start = ids_after("billing_invoice")

    def invoice_rows():
        for n in range(invoices):
            client_n, age = n % clients, n // clients  # client n's invoices, one a month going back
            day = TODAY - timedelta(days=30 * age + 3)
            paid = age > 0 or n % 4
            yield (start + n, f"LOAD-{n + 1:07d}", "standard", "paid" if paid else "unpaid", "USD", day,
                   day + timedelta(days=14), NOW - timedelta(days=30 * age) if paid else None, "9.95", "0.000",
                   "0.00", "9.95", "0.00", "9.95" if paid else "0.00", "", NOW, NOW, first_client + client_n)

    timed("invoices", lambda: insert("billing_invoice", (
        "id", "number", "kind", "status", "currency", "date", "due_date", "paid_at", "subtotal", "tax_rate", "tax",
        "total", "credit_applied", "amount_paid", "notes", "created_at", "updated_at", "client_id"),
        invoice_rows()))
    timed("invoice lines", lambda: insert("billing_invoiceitem", (
        "kind", "description", "amount", "taxable", "sort_order", "invoice_id", "service_id"),
        (("service", f"Mail Pro - s{n}.load.example (monthly)", "9.95", 1, 0, start + n,
          first_service + (n % clients) * per_client) for n in range(invoices))))


def build_cdrs(first_client, first_service, per_client, source, cdr_import, rng):
    """BIG_VOIP_SHARE of the calls on the big VoIP clients' services, the rest on the small ones, spread over
    CALL_DAYS up to now, newest last as an importer would store them."""
    total = SIZES["cdrs"]
    big = [first_service + n * per_client for n in range(BIG_VOIP_CLIENTS)]
    small = [first_service + n * per_client for n in range(BIG_VOIP_CLIENTS, BIG_VOIP_CLIENTS + SMALL_VOIP_CLIENTS)]
    span = CALL_DAYS * 86_400

    def rows():
        for n in range(total):
            service = rng.choice(big) if rng.random() < BIG_VOIP_SHARE else rng.choice(small)
            moment = NOW - timedelta(seconds=span - n * span // total)
            outbound = n % 7
            callee = f"1212{rng.randrange(10_000_000):07d}"
            did = f"1646{(service - first_service) // per_client:07d}"
            billsec = rng.randrange(0, 900)
            cost = f"{billsec * 0.0002:.4f}"
            yield (f"c{n}", "outbound" if outbound else "inbound", f"t{service}", did if outbound else callee,
                   callee if outbound else did, callee, "+" + callee, moment, billsec, "ANSWERED", billsec, "1212",
                   "United States - New York", cost, cost, "rated", "", n, moment, service, cdr_import.pk, source.pk,
                   0, "", 0)

    timed("call records", lambda: insert("voip_cdr", (
        "external_id", "direction", "account", "caller", "callee", "number", "e164", "answer_time", "billsec",
        "disposition", "billed_seconds", "prefix", "destination", "cost", "precise_cost", "status", "reason", "line",
        "rated_at", "service_id", "cdr_import_id", "source_id", "postpaid", "call_id", "internal_leg"), rows()))
    return big, small


def build_audit(first_client, first_user, first_service, per_client, rng):
    total, clients = SIZES["audit"], SIZES["clients"]
    service_type = ContentType.objects.get_for_model(Service).pk
    actions = ("service.suspend", "service.unsuspend", "invoice.paid", "invoice.created", "client.login",
               "service.create", "payment.recorded", "client.profile_changed")
    span = 730 * 86_400

    def rows():
        for n in range(total):
            client_n = rng.randrange(clients)
            service = first_service + client_n * per_client
            action = actions[n % len(actions)]
            yield (NOW - timedelta(seconds=span - n * span // total), "system", "automation", action,
                   str(service), f"s{client_n}.load.example", f"{action} for service {service}", "{}", None,
                   first_client + client_n, service_type)

    timed("audit rows", lambda: insert("portal_activitylog", (
        "created_at", "actor_type", "actor_label", "action", "target_id", "target_repr", "message", "data",
        "actor_user_id", "client_id", "target_type_id"), rows()))


def ids_after(table):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")
        return cursor.fetchone()[0]


def session_for(user_id):
    user = User.objects.get(pk=user_id)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


def fixture(first_client, first_user, first_service, per_client, big, small):
    """What the locustfile reads: sessions of ordinary, small-VoIP and big-VoIP clients with the ids they may
    visit, a staff session and an API key."""
    staff = User.objects.create_superuser("loadstaff", "staff@load.example", PASSWORD)
    # Read scopes only (the scenarios read); no rate limit worth the name: the test measures the server.
    key = ApiKey(name="Load test", owner=staff, permissions=["clients.read", "services.read", "invoices.read",
                                                             "activity.read", "cdrs.read"], rate_limit=1_000_000)
    secret = key.set_new_secret()
    key.save()
    rng = random.Random(11)

    def client_entry(client_n, voip_service=None):
        return {"session": session_for(first_user + client_n), "client": first_client + client_n,
                "voip_service": voip_service}

    plain = [client_entry(n) for n in rng.sample(range(BIG_VOIP_CLIENTS + SMALL_VOIP_CLIENTS, SIZES["clients"]),
                                                  min(ARGS.sessions, SIZES["clients"] - BIG_VOIP_CLIENTS - SMALL_VOIP_CLIENTS))]
    voip_small = [client_entry(n, first_service + n * per_client)
                  for n in rng.sample(range(BIG_VOIP_CLIENTS, BIG_VOIP_CLIENTS + SMALL_VOIP_CLIENTS), 50)]
    voip_big = [client_entry(n, first_service + n * per_client) for n in range(BIG_VOIP_CLIENTS)]
    with connection.cursor() as cursor:
        cursor.execute("SELECT client_id, id FROM billing_invoice WHERE client_id IN %s",
                       [tuple(entry["client"] for entry in plain + voip_small + voip_big)])
        invoices = {}
        for client_id, invoice_id in cursor.fetchall():
            invoices.setdefault(client_id, []).append(invoice_id)
    for entry in plain + voip_small + voip_big:
        entry["invoices"] = invoices.get(entry["client"], [])[:12]
    return {"sizes": SIZES, "built_at": NOW.isoformat(), "plain": plain, "voip_small": voip_small,
            "voip_big": voip_big, "staff_session": session_for(staff.pk),
            "api_identifier": key.identifier, "api_secret": secret,
            "services": [first_service + n for n in range(0, SIZES["services"], 97)][:500],
            "clients": [first_client + n for n in range(0, SIZES["clients"], 53)][:500]}


def main():
    started = time.perf_counter()
    rng = random.Random(20)
    mail, voip, source, cdr_import = catalogue()
    first_client, first_user = ids_after("portal_client"), ids_after("auth_user")
    build_clients(first_client, first_user)
    first_service = ids_after("billing_service")
    per_client = build_services(first_client, first_service, mail, voip, rng)
    build_invoices(first_client, first_service, per_client)
    big, small = build_cdrs(first_client, first_service, per_client, source, cdr_import, rng)
    build_audit(first_client, first_user, first_service, per_client, rng)
    timed("statistics", lambda: analyze(("portal_client", "billing_service", "billing_invoice", "voip_cdr",
                                         "portal_activitylog", "billing_invoiceitem")))
    data = fixture(first_client, first_user, first_service, per_client, big, small)
    out = Path(ARGS.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=1, default=str))
    print(f"Built {SIZES} in {time.perf_counter() - started:.0f} s; fixture in {out}")


def analyze(tables):
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"ANALYZE TABLE {table}")
            cursor.fetchall()
    return len(tables)


if __name__ == "__main__":
    main()
