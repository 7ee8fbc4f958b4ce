"""Builders for the VoIP billing tests (models, services, imports); the rating tests use helpers.py."""
from decimal import Decimal
from pathlib import Path

from billing.models import Product
from voip.models import CdrSource, RatePackage, VoipProduct
from voip.services.decks import import_deck
from portal.activity import Actor
from tests.factories import ProductFactory, ServiceFactory

CDR_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cdrs"
SYSTEM = Actor.system("tests")


def fixture_lines(name):
    return (CDR_FIXTURES / name).read_text(encoding="utf-8").splitlines(keepends=True)


def make_package(name="Standard", *, rates="rates.csv", lines=None, **fields):
    package = RatePackage.objects.create(name=name, **fields)
    result = import_deck(
        package=package, lines=lines if lines is not None else fixture_lines(rates), replace=True,
        skip_bad_rows=False, actor=SYSTEM,
    )
    assert result.ok, result.refused
    package.refresh_from_db()
    return package


def voip_product(package=None, *, module="fake", options=None, **fields):
    """A VoIP product with its rate package; number settings go in `options` (default_region, local_npa)."""
    product = ProductFactory(type=Product.Type.VOIP, module=module, module_options=options or {}, **fields)
    VoipProduct.objects.create(product=product, rate_package=package)
    return product


def voip_service(client, product, *, module_data=None, **fields):
    return ServiceFactory(client=client, product=product, module_data=module_data or {}, **fields)


def file_source(name="Uploads", **fields):
    return CdrSource.objects.create(name=name, kind=CdrSource.Kind.FILE, schedule=CdrSource.Schedule.MANUAL, **fields)


def money(text):
    return Decimal(text)


def stored_calls(service, source, calls):
    """Cdr rows for `service` as an import would leave them: `calls` is a list of dicts of Cdr fields (answer_time
    and cost at least); the rest get plausible defaults. Returns the rows."""
    from voip.models import Cdr, CdrImport

    batch = CdrImport.objects.create(source=source, kind=CdrImport.Kind.UPLOAD, status=CdrImport.Status.DONE)
    rows = []
    for index, fields in enumerate(calls, 1):
        values = {
            "external_id": f"call-{batch.pk}-{index}", "direction": "outbound", "caller": "1001",
            "callee": "2125551234", "number": "2125551234", "e164": "12125551234", "billsec": 60,
            "billed_seconds": 60, "destination": "USA New York", "prefix": "1212", "status": "rated", "line": index,
            **fields,
        }
        values["cost"] = Decimal(str(values["cost"]))
        rows.append(Cdr(source=source, cdr_import=batch, service=service, **values))
    return Cdr.objects.bulk_create(rows)
