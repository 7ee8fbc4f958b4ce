"""POST /includes/api.php: authenticate, rate-limit, find the action, check its permission and required
parameters, run it and answer in WHMCS's shape (JSON by default, XML with responsetype=xml)."""
import logging

from django.core.exceptions import ValidationError
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from api import security
from api.whmcs import registry, xml
from api.whmcs.loader import load_actions
from provisioning.lifecycle import InvalidTransition
from provisioning.modules.base import ModuleError

logger = logging.getLogger(__name__)


# WHMCS answers responsetype=xml as an XML document (application/xml, UTF-8), JSON as application/json.
XML_CONTENT_TYPE = "application/xml; charset=utf-8"


def parameters(request):
    """The call's parameters as WHMCS reads them ($_REQUEST): the form body, and the query string for what the
    body does not give (client libraries send ?action=AddClient with the rest in the body)."""
    data = request.POST.copy()
    for key in request.GET:
        if key not in data:
            data.setlist(key, request.GET.getlist(key))
    return data


def respond(request, payload, status=200):
    if parameters(request).get("responsetype", "").lower() == "xml":
        return HttpResponse(xml.render(payload), status=status, content_type=XML_CONTENT_TYPE)
    return JsonResponse(payload, status=status, json_dumps_params={"ensure_ascii": False})


def error(request, message, status=200, **extra):
    return respond(request, {"result": "error", "message": message, **extra}, status)


def validation_message(exc):
    if hasattr(exc, "error_dict"):
        return " ".join(f"{'' if name == '__all__' else name + ': '}{' '.join(msgs)}" for name, msgs in exc.message_dict.items())
    return " ".join(exc.messages)


@csrf_exempt
def api_php(request):
    if request.method != "POST":
        return error(request, "Invalid request method: send a POST request", status=405)
    load_actions()
    data, ip = parameters(request), security.client_ip(request)
    if security.failed_auth_limited(ip):
        return error(request, "Too many failed authentication attempts. Please try again later.", status=429)
    try:
        if data.get("identifier") or data.get("secret"):
            caller = security.key_caller(data.get("identifier"), data.get("secret"), ip)
        elif security.is_key_identifier(data.get("username")):
            # As in WHMCS, an API credential may come in the username and password fields.
            caller = security.key_caller(data.get("username"), data.get("password"), ip)
        else:
            caller = security.staff_caller(request, data.get("username"), data.get("password"), ip)
    except security.LockedOut as exc:
        return error(request, str(exc), status=429)
    except security.AuthError as exc:
        security.count_failed_auth(ip)
        return error(request, str(exc), status=403)
    if security.rate_limited(caller):
        return error(request, "Rate limit exceeded. Please try again later.", status=429)
    name = "".join(ch for ch in data.get("action", "") if ch.isalnum()).lower()
    action = registry.ACTIONS.get(name)
    if action is None:
        return error(request, "Command Not Found")
    if not action.supported:
        return error(request, f"{action.name} is not supported by this portal: {action.note}")
    call = registry.Call(data=data, caller=caller, action=action, request=request)
    if not caller.allows(action.required_scope(call), action.name):
        return error(request, f'Invalid Permissions: API action "{name}" is not allowed', status=403)
    for param, message in action.required:
        if not call.has(param):
            return error(request, message)
    try:
        result = action.handler(call)
    except registry.WhmcsError as exc:
        return error(request, exc.message, **exc.extra)
    except ValidationError as exc:
        return error(request, validation_message(exc))
    except InvalidTransition as exc:
        return error(request, str(exc))
    except ModuleError as exc:
        return error(request, f"Module error: {exc.message}")
    return respond(request, {"result": "success", **(result or {})})
