"""HTTP Basic credentials of a simulated request (the VoIP simulators authenticate this way)."""
import base64
import secrets


def basic_credentials(request):
    """(user, password) from the Authorization header, or None when there is none or it is malformed."""
    value = request.headers.get("authorization", "")
    if not value.lower().startswith("basic "):
        return None
    try:
        user, _, password = base64.b64decode(value[6:].strip()).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return user, password


def same_secret(given, expected):
    return secrets.compare_digest(given.encode(), expected.encode())
