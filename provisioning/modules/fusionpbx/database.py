"""FusionPBX's own database (docs/voip-providers.md §4.1; shared/providers/fusionpbx.md option (a)).

The module reads `v_domains`, `v_extensions`, `v_gateways` and `v_xml_cdr` and switches the `enabled` column
of gateways and extensions, with parameterised SQL that PostgreSQL (FusionPBX's database, through psycopg 3)
and SQLite (the simulator's file, through sqlite3) both run; the URL's scheme picks the driver:

    postgres://user:password@host:5432/fusionpbx      (or postgresql://…)
    sqlite:///var/fusionpbx-sim.sqlite3

`enabled` is text ('true'/'false') on older FusionPBX and boolean on newer: values are written as the text
'true'/'false', which PostgreSQL casts to either column type, and read back with `is_true`. Errors become
ModuleErrors that say what to fix: unreachable server, timeouts and lost connections are temporary; a refused
login, a missing database, table or column and a missing privilege are permanent.
"""
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from provisioning.http import note_exchange
from provisioning.modules.base import ModuleError

# The v_xml_cdr columns the import reads (docs/voip-providers.md §5.1); `extension` comes from v_extensions.
CDR_COLUMNS = ("xml_cdr_uuid", "domain_uuid", "domain_name", "extension_uuid", "direction", "caller_id_number",
               "caller_destination", "destination_number", "start_epoch", "answer_epoch", "end_epoch", "billsec",
               "leg", "hangup_cause")
# Read when the installation has them (older FusionPBX has no `status`; `billmsec` refines billsec).
OPTIONAL_CDR_COLUMNS = ("billmsec", "status")
TABLES = ("v_domains", "v_extensions", "v_gateways", "v_xml_cdr")
POSTGRES_SCHEMES = ("postgres", "postgresql")


def is_true(value):
    """FusionPBX's enabled flags: boolean, or the text 'true'/'false'."""
    return value is True or str(value).strip().lower() in ("true", "t", "1")


def flag(enabled):
    return "true" if enabled else "false"


def safe_url(url):
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        return url
    user = f"{unquote(parts.username)}@" if parts.username else ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{user}{parts.hostname or ''}{port}{parts.path}"


def with_credentials(url, username, password):
    """The URL with another login (a CDR source's own read-only role)."""
    parts = urlsplit(url)
    if parts.scheme not in POSTGRES_SCHEMES:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    login = quote(username, safe="") + (f":{quote(password, safe='')}" if password else "")
    return urlunsplit((parts.scheme, f"{login}@{host}{port}", parts.path, parts.query, parts.fragment))


@dataclass
class Gateway:
    gateway_uuid: str
    gateway: str
    profile: str
    enabled: bool


@dataclass
class Extension:
    extension_uuid: str
    extension: str
    number_alias: str
    enabled: bool


class FusionPbxDatabase:
    def __init__(self, url, *, connect_timeout=5, statement_timeout=30):
        self.url = url
        self.where = f"the FusionPBX database {safe_url(url)}"
        self.subject = self.where[0].upper() + self.where[1:]  # at the start of a sentence
        self.connect_timeout = connect_timeout
        self.statement_timeout = statement_timeout
        self.scheme = urlsplit(url).scheme
        if self.scheme not in (*POSTGRES_SCHEMES, "sqlite"):
            raise ModuleError(f"{self.subject}: unsupported URL scheme {self.scheme!r}; use postgres://… (or "
                              "sqlite:///… for the simulator).", permanent=True)

    @contextmanager
    def session(self):
        """One connection and transaction: committed when the block ends, rolled back on an error."""
        connection = self._connect()
        try:
            yield Session(self, connection)
            connection.commit()
        except ModuleError:
            _rollback(connection)
            raise
        except Exception as exc:
            _rollback(connection)
            if isinstance(exc, _driver_errors()):
                raise self.error(exc) from exc
            raise
        finally:
            connection.close()

    def _connect(self):
        if self.scheme == "sqlite":
            path = self.url[len("sqlite:///"):]
            try:  # mode=rw: a wrong path is an error, not a new empty database
                connection = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=self.connect_timeout)
            except sqlite3.Error as exc:
                raise ModuleError(f"Could not open {self.where} ({exc}).") from exc
            connection.row_factory = sqlite3.Row
            return connection
        import psycopg
        from psycopg.rows import dict_row

        try:
            return psycopg.connect(self.url, connect_timeout=self.connect_timeout, row_factory=dict_row,
                                   options=f"-c statement_timeout={int(self.statement_timeout * 1000)}",
                                   application_name="portal-billing")
        except psycopg.Error as exc:
            raise self.error(exc) from exc

    def error(self, exc):
        """A driver error as a ModuleError sentence."""
        text = " ".join(str(exc).split())[:300]
        code = getattr(exc, "sqlstate", None) or _connect_code(text)
        if self.scheme == "sqlite":
            if isinstance(exc, sqlite3.OperationalError) and ("no such" in text or "has no column" in text):
                return ModuleError(f"{self.subject} lacks what the portal reads ({text}): is this FusionPBX's "
                                   "database?", permanent=True)
            return ModuleError(f"{self.subject} failed: {text}.")
        if code.startswith("28"):
            return ModuleError(f"{self.subject} refused the login ({text}). Check the user and password in the "
                               "server's database URL, and the pg_hba.conf entry for the portal's address "
                               "(docs/voip-providers.md §4.1).", permanent=True)
        if code == "3D000":
            return ModuleError(f"{self.subject} does not exist ({text}): correct the database name in the URL.",
                               permanent=True)
        if code in ("42P01", "42703"):
            return ModuleError(f"{self.subject} lacks a table or column the portal reads ({text}): is this "
                               "FusionPBX's database?", permanent=True)
        if code == "42501":
            return ModuleError(f"{self.subject} refused an operation ({text}). Grant the portal's role SELECT on "
                               f"{', '.join(TABLES)} and UPDATE (enabled) on v_gateways and v_extensions "
                               "(docs/voip-providers.md §4.1).", permanent=True)
        if code == "57014":
            return ModuleError(f"{self.subject} took longer than the read timeout ({text}); it will be retried.")
        if not code or code.startswith(("08", "53", "57", "58")):
            return ModuleError(f"Could not reach {self.where} ({text}); it will be retried.")
        return ModuleError(f"{self.subject} refused a statement ({code}: {text}).", permanent=True)


class Session:
    """The queries, on one open connection."""

    def __init__(self, database, connection):
        self.database = database
        self.connection = connection

    def rows(self, sql, params=()):
        """The statement's rows (none for an UPDATE), noted for the module call's record with its row count."""
        started, error, count = time.monotonic(), "", None
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql.replace("%s", "?") if self.database.scheme == "sqlite" else sql, tuple(params))
            rows = [dict(row) for row in cursor.fetchall()] if cursor.description else []
            count = len(rows) if cursor.description else cursor.rowcount
            return rows
        except Exception as exc:
            error = " ".join(str(exc).split())[:300]
            raise
        finally:
            cursor.close()
            note_exchange({"method": "SQL", "url": safe_url(self.database.url), "body": " ".join(sql.split()),
                           "status": None, "rows": count, "ms": int((time.monotonic() - started) * 1000),
                           **({"error": error} if error else {})})

    def columns(self, table):
        """The column names of a table (an empty query: both drivers describe it)."""
        cursor = self.connection.cursor()
        try:
            cursor.execute(f"SELECT * FROM {table} WHERE 1 = 0")  # table names are this module's constants
            return [column[0] for column in cursor.description]
        finally:
            cursor.close()

    def check(self):
        """Every table the portal uses is readable; on PostgreSQL, the role may also update `enabled`."""
        for table in TABLES:
            self.columns(table)
        if self.database.scheme == "sqlite":
            return
        for table in ("v_gateways", "v_extensions"):
            [row] = self.rows("SELECT has_column_privilege(%s, 'enabled', 'UPDATE') AS allowed", (table,))
            if not row["allowed"]:
                raise ModuleError(f"{self.database.subject}: the portal's role may not update {table}.enabled. Grant "
                                  f"it: GRANT UPDATE (enabled) ON {table} TO <role> (docs/voip-providers.md §4.1).",
                                  permanent=True)

    def domain(self, name):
        """{domain_uuid, domain_name, domain_enabled} of a domain by name (case-insensitive), or None."""
        rows = self.rows("SELECT domain_uuid, domain_name, domain_enabled FROM v_domains WHERE lower(domain_name) = %s",
                         (name.lower(),))
        if not rows:
            return None
        row = rows[0]
        return {"domain_uuid": str(row["domain_uuid"]), "domain_name": row["domain_name"],
                "domain_enabled": is_true(row["domain_enabled"])}

    def gateways(self, domain_uuid):
        rows = self.rows("SELECT gateway_uuid, gateway, profile, enabled FROM v_gateways WHERE domain_uuid = %s "
                         "ORDER BY gateway, gateway_uuid", (domain_uuid,))
        return [Gateway(str(r["gateway_uuid"]), r["gateway"] or "", r["profile"] or "", is_true(r["enabled"]))
                for r in rows]

    def set_gateways(self, domain_uuid, uuids, *, enabled):
        if uuids:
            self.rows(f"UPDATE v_gateways SET enabled = %s WHERE domain_uuid = %s AND gateway_uuid IN ({_marks(uuids)})",
                      (flag(enabled), domain_uuid, *uuids))

    def extensions(self, domain_uuid, numbers):
        """The domain's extensions with these numbers, by number."""
        if not numbers:
            return {}
        rows = self.rows("SELECT extension_uuid, extension, number_alias, enabled FROM v_extensions "
                         f"WHERE domain_uuid = %s AND extension IN ({_marks(numbers)})", (domain_uuid, *numbers))
        return {str(r["extension"]): Extension(str(r["extension_uuid"]), str(r["extension"]), r["number_alias"] or "",
                                               is_true(r["enabled"])) for r in rows}

    def set_extensions(self, domain_uuid, uuids, *, enabled):
        if uuids:
            self.rows("UPDATE v_extensions SET enabled = %s "
                      f"WHERE domain_uuid = %s AND extension_uuid IN ({_marks(uuids)})",
                      (flag(enabled), domain_uuid, *uuids))

    def cdr_page(self, *, since_epoch, domain_uuids, after, limit, optional):
        """One page of v_xml_cdr in (end_epoch, xml_cdr_uuid) order: rows ended at or after `since_epoch` (None:
        all), of `domain_uuids` (None: every domain), after the key `after` ((end_epoch, xml_cdr_uuid) of the
        previous page's last row). Rows without end_epoch are never read (FusionPBX always writes it)."""
        names = [*CDR_COLUMNS, *optional]
        sql = [f"SELECT {', '.join('c.' + name for name in names)}, e.extension AS extension FROM v_xml_cdr c "
               "LEFT JOIN v_extensions e ON e.extension_uuid = c.extension_uuid WHERE c.end_epoch IS NOT NULL"]
        params = []
        if since_epoch is not None:
            sql.append("AND c.end_epoch >= %s")
            params.append(since_epoch)
        if domain_uuids is not None:
            sql.append(f"AND c.domain_uuid IN ({_marks(domain_uuids)})")
            params.extend(domain_uuids)
        if after is not None:
            sql.append("AND (c.end_epoch > %s OR (c.end_epoch = %s AND c.xml_cdr_uuid > %s))")
            params.extend([after[0], after[0], after[1]])
        sql.append("ORDER BY c.end_epoch, c.xml_cdr_uuid LIMIT %s")
        params.append(limit)
        return self.rows(" ".join(sql), params)


def _connect_code(text):
    """libpq reports a refused connection without a SQLSTATE: the server's FATAL message says why."""
    if any(words in text for words in ("authentication failed", "no pg_hba.conf entry")) or (
            "role \"" in text and "does not exist" in text):
        return "28000"
    if "database \"" in text and "does not exist" in text:
        return "3D000"
    return ""


def _marks(values):
    return ", ".join(["%s"] * len(values))


def _rollback(connection):
    try:
        connection.rollback()
    except Exception:  # the connection may be gone already; closing it is all that is left
        pass


def _driver_errors():
    errors = [sqlite3.Error]
    try:
        import psycopg
    except ImportError:
        pass
    else:
        errors.append(psycopg.Error)
    return tuple(errors)
