"""The WHMCS database, read directly and only read.

A MySQLdb connection of its own rather than a second Django database alias: the source is named at run time
(--database-url), it must never be written (the session is READ ONLY and one consistent snapshot), and the big
tables are streamed with a server-side cursor, which Django's ORM cannot do for a database it has no models of.
"""
import datetime
import functools
import re
from urllib.parse import unquote, urlsplit

from django.utils import timezone

CHUNK = 5000
# UTF-8 read as Latin-1/cp1252 and stored again ("Ã©" for "é"): a lead byte Â-ô followed by continuation bytes.
MOJIBAKE = re.compile("[\u00c2-\u00f4][\u0080-\u00bf\u2018-\u203a\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u20ac\u2122]")


class SourceError(Exception):
    """The WHMCS database cannot be read: the message says why."""


def connect(url):
    """A read-only connection to the WHMCS database at `url` (mysql://user:pass@host:port/name), inside one
    consistent-snapshot read-only transaction."""
    try:
        # Imported here: the driver is in requirements-mysql.txt, which the embedded (SQLite) install leaves out.
        import MySQLdb
        import MySQLdb.cursors
    except ImportError as exc:
        raise SourceError("Reading a WHMCS database needs mysqlclient: pip install -r requirements-mysql.txt") from exc
    parts = urlsplit(url)
    if parts.scheme not in ("mysql", "mariadb") or not parts.path.strip("/"):
        raise SourceError(f"--database-url must look like mysql://user:password@host/whmcs (got {parts.scheme or url!r}).")
    try:
        connection = MySQLdb.connect(
            host=parts.hostname or "127.0.0.1", port=parts.port or 3306, user=unquote(parts.username or "root"),
            passwd=unquote(parts.password or ""), db=unquote(parts.path.strip("/")), charset="utf8mb4",
            use_unicode=True,
        )
    except MySQLdb.Error as exc:
        raise SourceError(f"Cannot connect to the WHMCS database: {exc}") from exc
    cursor = connection.cursor()
    cursor.execute("SET SESSION TRANSACTION READ ONLY")
    cursor.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    cursor.execute("START TRANSACTION READ ONLY, WITH CONSISTENT SNAPSHOT")
    return Source(connection, MySQLdb.cursors)


class Source:
    def __init__(self, connection, cursors):
        self.connection = connection
        self.cursors = cursors
        self._tables = None
        self.repaired_text = 0  # values whose mojibake was repaired

    def close(self):
        self.connection.rollback()
        self.connection.close()

    def has_table(self, name):
        if self._tables is None:
            cursor = self.connection.cursor()
            cursor.execute("SHOW TABLES")
            self._tables = {row[0].lower() for row in cursor.fetchall()}
        return name.lower() in self._tables

    def has_column(self, table, column):
        """Whether `table` has `column` (a column newer WHMCS versions added, e.g. tblclients.tax_id in 8.0)."""
        cursor = self.connection.cursor()
        cursor.execute(f"SHOW COLUMNS FROM `{table}` LIKE %s", (column,))
        return cursor.fetchone() is not None

    def count(self, table):
        cursor = self.connection.cursor()
        cursor.execute(f"SELECT COUNT(*) FROM `{table}`")
        return cursor.fetchone()[0]

    def rows(self, sql, params=()):
        """All rows of a small query, as dicts with text repaired."""
        cursor = self.connection.cursor(self.cursors.DictCursor)
        cursor.execute(sql, params)
        return [self._clean(row) for row in cursor.fetchall()]

    def chunks(self, sql, params=(), size=CHUNK):
        """The rows of a big query in lists of `size`, streamed from the server (constant memory)."""
        cursor = self.connection.cursor(self.cursors.SSDictCursor)
        try:
            cursor.execute(sql, params)
            while batch := cursor.fetchmany(size):
                yield [self._clean(row) for row in batch]
        finally:
            cursor.close()

    def _clean(self, row):
        for key, value in row.items():
            if isinstance(value, str) and MOJIBAKE.search(value):
                repaired = repair_mojibake(value)
                if repaired != value:
                    row[key] = repaired
                    self.repaired_text += 1
            elif isinstance(value, bytes):
                row[key] = value.decode("utf-8", "replace")
        return row


def repair_mojibake(text):
    """UTF-8 that was decoded as Latin-1 (or Windows-1252) and stored again, decoded right; other text as it is."""
    for codec in ("cp1252", "latin-1"):
        try:
            return text.encode(codec).decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
    return text


def day(value):
    """A DATE column: None for WHMCS's zero date (MySQLdb gives None for 0000-00-00) or NULL."""
    if isinstance(value, datetime.datetime):
        return value.date()
    return value if isinstance(value, datetime.date) else None


def moment(value):
    """A DATETIME column as an aware datetime (WHMCS stores the server's local time; the import reads it in
    the business time zone), None for zero or NULL."""
    if isinstance(value, datetime.datetime):
        return timezone.make_aware(value, _business_zone()) if value.tzinfo is None else value
    if isinstance(value, datetime.date):
        return timezone.make_aware(datetime.datetime.combine(value, datetime.time()), _business_zone())
    return None


@functools.cache
def _business_zone():
    return timezone.get_default_timezone()


def text(value, limit=None):
    value = "" if value is None else str(value).strip()
    return value[:limit] if limit else value


def flag(value):
    """WHMCS's booleans: 1/0, 'on'/'', 'Yes'/'No'."""
    return str(value or "").strip().lower() in ("1", "on", "yes", "true")
