"""REST authentication (Bearer <identifier>.<secret>), per-scope permission and per-key throttling, on the
same keys, checks and counters as the WHMCS-compatible API (api.security)."""
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions, throttling

from api import security


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keywords = ("bearer", "token")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0].lower() not in self.keywords:
            return None
        if len(header) != 2 or "." not in header[1]:
            raise exceptions.AuthenticationFailed("Malformed API key: use 'Bearer <identifier>.<secret>'.")
        identifier, secret = header[1].split(".", 1)
        ip = security.client_ip(request)
        if security.failed_auth_limited(ip):
            raise exceptions.Throttled(wait=60, detail="Too many failed authentication attempts.")
        try:
            caller = security.key_caller(identifier, secret, ip)
        except security.AuthError as exc:
            security.count_failed_auth(ip)
            if str(exc).startswith("Invalid IP"):
                raise exceptions.PermissionDenied(f"This API key may not be used from {ip}.") from None
            raise exceptions.AuthenticationFailed("Invalid API key.") from None
        return caller.user, caller

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = ApiKeyAuthentication
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "<identifier>.<secret>"}


class HasScope(permissions.BasePermission):
    """The view's scope: `<resource>.read` for safe methods, `.write` otherwise, unless the view names the
    scope of an action in `action_scopes`."""

    message = "This API key does not have the permission for this action."

    def has_permission(self, request, view):
        caller = request.auth
        if not isinstance(caller, security.Caller):
            return False
        if getattr(view, request.method.lower(), None) is None:
            return True  # a method the view does not have: DRF answers 405 (a read-only resource has no .write)
        scope = getattr(view, "action_scopes", {}).get(getattr(view, "action", None))
        if scope is None:
            suffix = "read" if request.method in permissions.SAFE_METHODS else "write"
            scope = f"{view.resource}.{suffix}"
        return caller.allows(scope)


class ApiKeyThrottle(throttling.BaseThrottle):
    def allow_request(self, request, view):
        caller = request.auth
        if not isinstance(caller, security.Caller):
            return True
        return not security.rate_limited(caller)

    def wait(self):
        return 60
