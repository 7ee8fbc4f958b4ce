"""Factories of the VoIP test data: rate package (with its deck imported), VoIP products and services, CDR
sources, import batches and rated calls, and the rating engine's in-memory rates."""
from decimal import Decimal
from pathlib import Path

import factory

from billing.models import Product
from portal.activity import Actor
from tests.factories import ProductFactory, ServiceFactory
from voip.models import Cdr, CdrImport, CdrSource, RatePackage, VoipProduct
from voip.rating import Rate
from voip.services.decks import import_deck

CDR_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cdrs"
SYSTEM = Actor.system("tests")


def fixture_lines(name):
    return (CDR_FIXTURES / name).read_text(encoding="utf-8").splitlines(keepends=True)


class RateFactory(factory.Factory):
    """One in-memory rate of the rating engine (voip.rating.Rate). Prices may be given as text; `per_minute`,
    `minimum` and `increment` are short for rate_per_minute, minimum_seconds and increment_seconds."""

    class Meta:
        model = Rate

    class Params:
        per_minute = "0"
        minimum = 1
        increment = 1

    prefix = "1212"
    destination = factory.LazyAttribute(lambda rate: f"dest {rate.prefix}")
    connect_fee = "0"
    rate_per_minute = factory.SelfAttribute("per_minute")
    minimum_seconds = factory.SelfAttribute("minimum")
    increment_seconds = factory.SelfAttribute("increment")

    @classmethod
    def _adjust_kwargs(cls, **kwargs):
        for price in ("connect_fee", "rate_per_minute"):
            kwargs[price] = Decimal(kwargs[price])
        return kwargs


class RatePackageFactory(factory.django.DjangoModelFactory):
    """A rate package with its deck imported: `deck` is the deck file's lines (default
    tests/fixtures/cdrs/rates.csv)."""

    class Meta:
        model = RatePackage
        skip_postgeneration_save = True

    name = "Standard"

    @factory.post_generation
    def deck(package, create, lines, **kwargs):
        if not create:
            return
        result = import_deck(
            package=package, lines=lines if lines is not None else fixture_lines("rates.csv"), replace=True,
            skip_bad_rows=False, actor=SYSTEM,
        )
        assert result.ok, result.refused
        package.refresh_from_db()


class VoipProductFactory(ProductFactory):
    """A VoIP product on the in-memory module with its rate package (`rate_package`, default none); number settings
    go in `module_options` (default_region, local_npa)."""

    class Meta:
        skip_postgeneration_save = True

    type = Product.Type.VOIP
    module = "fake"
    module_options = factory.LazyFunction(dict)

    @factory.post_generation
    def rate_package(product, create, package, **kwargs):
        if create:
            VoipProduct.objects.create(product=product, rate_package=package)


class VoipServiceFactory(ServiceFactory):
    product = factory.SubFactory(VoipProductFactory)
    module_data = factory.LazyFunction(dict)


class CdrSourceFactory(factory.django.DjangoModelFactory):
    """A CDR source for uploaded files, not scheduled."""

    class Meta:
        model = CdrSource

    name = "Uploads"
    kind = CdrSource.Kind.FILE
    schedule = CdrSource.Schedule.MANUAL


class CdrImportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CdrImport

    source = factory.SubFactory(CdrSourceFactory)
    kind = CdrImport.Kind.UPLOAD
    status = CdrImport.Status.DONE


class CdrFactory(factory.django.DjangoModelFactory):
    """A rated outbound call of one minute to New York from extension 1001."""

    class Meta:
        model = Cdr

    cdr_import = factory.SubFactory(CdrImportFactory)
    source = factory.SelfAttribute("cdr_import.source")
    line = factory.Sequence(lambda n: n + 1)
    external_id = factory.LazyAttribute(lambda cdr: f"call-{cdr.cdr_import.pk}-{cdr.line}")
    direction = "outbound"
    caller = "1001"
    callee = "2125551234"
    number = "2125551234"
    e164 = "12125551234"
    billsec = 60
    billed_seconds = 60
    destination = "USA New York"
    prefix = "1212"
    status = "rated"
    cost = 0

    @classmethod
    def _adjust_kwargs(cls, **kwargs):
        kwargs["cost"] = Decimal(str(kwargs["cost"]))
        return kwargs


def stored_calls(service, source, calls):
    """Cdr rows for `service` as an import would leave them, in one import batch: `calls` is a list of dicts of
    Cdr fields (answer_time and cost at least); the rest are CdrFactory's. Returns the rows."""
    batch = CdrImportFactory(source=source)
    rows = [CdrFactory.build(source=source, cdr_import=batch, service=service, **{"line": index, **fields})
            for index, fields in enumerate(calls, 1)]
    return Cdr.objects.bulk_create(rows)
