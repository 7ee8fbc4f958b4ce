"""WHMCS's reversible encryption of stored secrets (service and server passwords), keyed by the
`$cc_encryption_hash` of its configuration.php. A public algorithm, written down in many projects that read a
WHMCS database: key = SHA-1(md5(md5(hash)) . md5(hash)); the stored text is base64 of a 20-byte IV (XORed with
the key) followed by the secret XORed with a key stream that starts at the IV and is re-keyed every 20 bytes with
SHA-1(previous key . previous 20 plaintext bytes)."""
import base64
import binascii
import hashlib
import os

BLOCK = 20  # the length of a SHA-1 digest


class CannotDecrypt(ValueError):
    """Not a WHMCS-encrypted value for this hash (wrong hash, or not encrypted at all)."""


def _key(encryption_hash):
    md5 = lambda text: hashlib.md5(text.encode()).hexdigest()  # noqa: E731 - PHP's md5(): hex text
    return hashlib.sha1((md5(md5(encryption_hash)) + md5(encryption_hash)).encode()).digest()


def _xor(data, key):
    return bytes(a ^ b for a, b in zip(data, key))


def decrypt(encrypted, encryption_hash):
    """The secret as text; CannotDecrypt when the value does not decrypt to UTF-8 with this hash."""
    try:
        raw = base64.b64decode(encrypted, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CannotDecrypt("not base64") from exc
    if len(raw) < BLOCK:
        raise CannotDecrypt("too short")
    key = _xor(raw[:BLOCK], _key(encryption_hash))
    body, out = raw[BLOCK:], bytearray()
    for start in range(0, len(body), BLOCK):
        if start:
            key = hashlib.sha1(key + bytes(out[start - BLOCK:start])).digest()
        out += _xor(body[start:start + BLOCK], key)
    try:
        text = out.decode()
    except UnicodeDecodeError as exc:
        raise CannotDecrypt("does not decrypt to text with this encryption hash") from exc
    if any(ord(char) < 32 and char not in "\t\n\r" for char in text):
        raise CannotDecrypt("does not decrypt to text with this encryption hash")
    return text


def encrypt(secret, encryption_hash, *, iv=None):
    """WHMCS's encrypt(): for building test and benchmark sources."""
    iv = iv or os.urandom(BLOCK)
    data, out = secret.encode(), bytearray(_xor(iv, _key(encryption_hash)))
    key = iv
    for start in range(0, len(data), BLOCK):
        if start:
            key = hashlib.sha1(key + data[start - BLOCK:start]).digest()
        out += _xor(data[start:start + BLOCK], key)
    return base64.b64encode(bytes(out)).decode()


def stored_secret(run, table, row):
    """The plain text of a WHMCS row's encrypted `password`, or "" when there is none or it cannot be decrypted
    (no --encryption-hash, or another one): then the row is listed in the report."""
    if not row["password"]:
        return ""
    if run.encryption_hash:
        try:
            return decrypt(row["password"], run.encryption_hash)
        except CannotDecrypt:
            pass
    run.report.secret_missing(table, row["id"])
    return ""
