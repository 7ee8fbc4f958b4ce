"""One error body for every REST error:

    {"error": {"status": 400, "code": "invalid", "message": "…", "fields": {"email": ["…"]}}}

Django ValidationError from a service → 400 with its fields; lifecycle.InvalidTransition → 409; ModuleRefusal (the
module cannot do this, or its settings are incomplete: no provider was asked) → 409 with code "refused";
ModuleError (the provider failed) → 502 with its message; 404 for unknown ids."""
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_handler

from provisioning.lifecycle import InvalidTransition
from provisioning.modules.base import ModuleError, ModuleRefusal


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = "The action is not allowed in the current state."


class Refused(Conflict):
    default_code = "refused"


class ProviderError(exceptions.APIException):
    status_code = status.HTTP_502_BAD_GATEWAY
    default_code = "provider_error"


def _from_django(exc):
    if hasattr(exc, "error_dict"):
        fields = {("non_field_errors" if k == "__all__" else k): v for k, v in exc.message_dict.items()}
        return exceptions.ValidationError(fields)
    return exceptions.ValidationError({"non_field_errors": exc.messages})


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = _from_django(exc)
    elif isinstance(exc, InvalidTransition):
        exc = Conflict(str(exc))
    elif isinstance(exc, ModuleRefusal):
        exc = Refused(exc.message)
    elif isinstance(exc, ModuleError):
        exc = ProviderError(exc.message)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = drf_handler(exc, context)
    if response is None:
        return None
    body = {"status": response.status_code, "code": getattr(exc, "default_code", "error")}
    detail = response.data
    if isinstance(exc, exceptions.ValidationError):
        body["code"] = "invalid"
        body["message"] = "Some fields are not valid."
        body["fields"] = detail if isinstance(detail, dict) else {"non_field_errors": detail}
    else:
        body["message"] = str(detail.get("detail", detail)) if isinstance(detail, dict) else str(detail)
        codes = exc.get_codes() if hasattr(exc, "get_codes") else None
        if isinstance(codes, str):
            body["code"] = codes
    return Response({"error": body}, status=response.status_code, headers=_headers(response))


def _headers(response):
    return {k: v for k, v in response.items() if k in ("WWW-Authenticate", "Retry-After")}
