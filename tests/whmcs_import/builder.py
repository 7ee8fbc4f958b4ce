"""Build a WHMCS-shaped MariaDB database (schema.sql beside this file) and fill it with bulk INSERTs: used by the
tests here and by bench/whmcs_import.py."""
from pathlib import Path
from urllib.parse import urlsplit

SCHEMA = Path(__file__).with_name("schema.sql")


def server_connection(url, database=None):
    import MySQLdb

    parts = urlsplit(url)
    return MySQLdb.connect(host=parts.hostname or "127.0.0.1", port=parts.port or 3306, user=parts.username or "root",
                           passwd=parts.password or "", charset="utf8mb4", **({"db": database} if database else {}))


def create_database(url):
    """Drop and create the database named in `url` with the WHMCS tables; returns a connection to it. The session
    runs without strict mode, as WHMCS's does, so zero dates and omitted text columns are accepted."""
    name = urlsplit(url).path.strip("/")
    connection = server_connection(url)
    cursor = connection.cursor()
    cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
    cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci")
    connection.close()
    connection = server_connection(url, name)
    cursor = connection.cursor()
    cursor.execute("SET SESSION sql_mode = ''")
    for statement in SCHEMA.read_text().split(";"):
        lines = [line for line in statement.splitlines() if not line.strip().startswith("--")]
        if "".join(lines).strip():
            cursor.execute("\n".join(lines))
    connection.commit()
    return connection


def insert(connection, table, rows):
    """Insert dicts (all with the same keys) in multi-row INSERTs; omitted columns take WHMCS's empty defaults."""
    if not rows:
        return
    columns = list(rows[0])
    sql = (f"INSERT INTO `{table}` ({', '.join(f'`{c}`' for c in columns)}) "
           f"VALUES ({', '.join(['%s'] * len(columns))})")
    cursor = connection.cursor()
    for start in range(0, len(rows), 5000):
        cursor.executemany(sql, [tuple(row[c] for c in columns) for row in rows[start:start + 5000]])
    connection.commit()


def drop_database(url):
    connection = server_connection(url)
    connection.cursor().execute(f"DROP DATABASE IF EXISTS `{urlsplit(url).path.strip('/')}`")
    connection.close()
