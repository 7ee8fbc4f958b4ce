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
