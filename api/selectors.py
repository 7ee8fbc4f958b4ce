"""Reads of the api app's own models (API keys, client SSO tokens)."""
from api.models import ApiKey, ClientSsoToken


def api_key(identifier):
    """The API key with that identifier and its owner, or None."""
    return ApiKey.objects.select_related("owner").filter(identifier=identifier or "").first()


def sso_token(token_hash):
    """The client SSO token with its client and user, or None."""
    return ClientSsoToken.objects.select_related("client", "user").filter(token_hash=token_hash).first()
