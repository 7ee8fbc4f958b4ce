import pytest
from cryptography.fernet import Fernet
from django.db import connection

from portal import encryption
from provisioning.admin import ServerForm
from tests.factories import ServerFactory

pytestmark = pytest.mark.django_db


def raw_column(server, column):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM provisioning_server WHERE id = %s", [server.pk])
        return cursor.fetchone()[0]


def test_credentials_are_encrypted_in_the_database_and_plain_in_python():
    server = ServerFactory(password="s3cret-admin-pass", api_token="tok-123")
    stored = raw_column(server, "password")
    assert "s3cret" not in stored and stored.startswith("gAAAA")
    server.refresh_from_db()
    assert (server.password, server.api_token) == ("s3cret-admin-pass", "tok-123")


def test_empty_secret_stays_empty():
    server = ServerFactory(password="")
    assert raw_column(server, "password") == ""


def test_a_rotated_key_still_reads_old_values_and_writes_with_the_new_one(settings):
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    server = ServerFactory(password="before-rotation")
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    server.refresh_from_db()
    assert server.password == "before-rotation"
    server.save()
    settings.FIELD_ENCRYPTION_KEYS = [new_key]
    server.refresh_from_db()
    assert server.password == "before-rotation"


def test_a_wrong_key_gives_a_clear_error(settings):
    server = ServerFactory(password="x")
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(Exception, match="cannot be decrypted with the configured FIELD_ENCRYPTION_KEY"):
        server.refresh_from_db()


def test_server_form_never_renders_a_secret_back_and_blank_keeps_it():
    server = ServerFactory(password="keep-me-secret", api_token="token-keep")
    form = ServerForm(instance=server)
    assert "keep-me-secret" not in form.as_p() and "token-keep" not in form.as_p()
    data = {"name": server.name, "module": "fake", "hostname": "changed.example.net", "port": "", "capacity": 0,
            "settings": "{}", "password": "", "api_token": "new-token", "use_tls": "on", "enabled": "on"}
    form = ServerForm(data, instance=server)
    assert form.is_valid(), form.errors
    form.save()
    server.refresh_from_db()
    assert (server.hostname, server.password, server.api_token) == ("changed.example.net", "keep-me-secret", "new-token")


def test_encrypt_round_trip():
    assert encryption.decrypt(encryption.encrypt("ünïcode ✓")) == "ünïcode ✓"
