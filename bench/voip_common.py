"""What the benchmarks share: Django set up on a database of their own (a MariaDB database dropped and
created, or SQLite in a temporary directory) with a temporary PORTAL_VAR_DIR."""
import os
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent


def setup_django(prefix, database_url, **environment):
    """Point the settings at `database_url` ("sqlite": a temporary SQLite file), set `environment`, run
    django.setup() and migrate (dropping and creating a MariaDB database first). Returns the var dir."""
    sys.path.insert(0, str(ROOT))
    var_dir = tempfile.mkdtemp(prefix=prefix)
    os.environ.update(PORTAL_VAR_DIR=var_dir, DJANGO_SETTINGS_MODULE="config.settings", LOG_LEVEL="WARNING",
                      **environment)
    mysql = database_url.startswith("mysql")
    if mysql:
        os.environ["DATABASE_URL"] = database_url
        recreate_mysql_database(database_url)
    else:
        os.environ.pop("DATABASE_URL", None)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    return Path(var_dir)


def recreate_mysql_database(url):
    import MySQLdb

    parts = urlsplit(url)
    db = MySQLdb.connect(host=parts.hostname, port=parts.port or 3306, user=parts.username or "root",
                         passwd=parts.password or "")
    name = parts.path.lstrip("/")
    db.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
    db.cursor().execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    db.close()


def build_voip_services(deck_path, *, prefixes, services, rng):
    """The VoIP benchmarks' catalogue (after setup_django): a `prefixes`-prefix deck from bench/rate_cdrs.py's
    generator in a rate package, a metered VoIP product on it and `services` clients with one VoIP service each
    (tenant and DID in module_data). Returns (the DIDs, a pool of numbers to call)."""
    # Imported here, not at the top: models load only once setup_django has run.
    from bench.rate_cdrs import generate_deck, number_pool
    from billing.models import Product, ProductGroup, Service
    from portal.activity import Actor
    from portal.models import Client
    from provisioning.telephony.text import OPEN_INPUT
    from voip.models import RatePackage, VoipProduct
    from voip.services.decks import import_deck

    area_codes, countries = generate_deck(deck_path, prefixes, rng)
    package = RatePackage.objects.create(name="Bench deck")
    with open(deck_path, **OPEN_INPUT) as lines:
        result = import_deck(package=package, lines=lines, replace=True, skip_bad_rows=False,
                             actor=Actor.system("bench"))
    assert result.ok, result.refused
    group = ProductGroup.objects.create(name="VoIP")
    product = Product.objects.create(group=group, name="VoIP Metered", type=Product.Type.VOIP, module="",
                                     module_options={"default_region": "US", "local_npa": ["212"]})
    VoipProduct.objects.create(product=product, rate_package=package)
    clients = Client.objects.bulk_create(
        [Client(first_name="B", last_name=f"Ench{n}", email=f"c{n}@bench.example", country="US")
         for n in range(services)], batch_size=1000,
    )
    dids = [f"1646{n // 10000 + 200:03d}{n % 10000:04d}" for n in range(services)]
    Service.objects.bulk_create(
        [Service(client=client, product=product, domain=f"t{n}.bench.example", status=Service.Status.ACTIVE,
                 module_data={"tenant": f"t{n}.bench.example", "dids": [did]})
         for n, (client, did) in enumerate(zip(clients, dids))], batch_size=1000,
    )
    return dids, number_pool(20_000, area_codes, countries, rng)
