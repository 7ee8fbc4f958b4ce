"""The registry of WHMCS actions: name → handler, required scope, required parameters, coverage note.

Handlers take a `Call` (parameters + caller) and return the response fields; they raise `WhmcsError` for a
WHMCS-style error. Django ValidationError, lifecycle.InvalidTransition and ModuleError raised by the portal's
services become errors with their message (views.py)."""
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.utils.dateparse import parse_date

CATEGORIES = ("Client", "Orders", "Products", "Service", "Servers", "Billing", "System", "Authentication", "Other")


class WhmcsError(Exception):
    def __init__(self, message, **extra):
        super().__init__(message)
        self.message = message
        self.extra = extra


@dataclass(frozen=True)
class Action:
    name: str
    category: str
    handler: object = None
    scope: str = ""
    required: tuple = ()  # (parameter, WHMCS error message when missing)
    note: str = ""
    # For an action whose permission depends on its parameters: (Call) -> scope. `scope` then only
    # describes them (the coverage table).
    scope_for: object = None

    def required_scope(self, call):
        return self.scope_for(call) if self.scope_for is not None else self.scope

    @property
    def supported(self):
        return self.handler is not None


ACTIONS: dict[str, Action] = {}


def action(name, *, category, scope, required=(), note="", scope_for=None):
    def register(fn):
        ACTIONS[name.lower()] = Action(name, category, fn, scope, tuple(required), note, scope_for)
        return fn

    return register


def unsupported(category, reason, *names):
    for name in names:
        ACTIONS[name.lower()] = Action(name, category, note=reason)


def truthy(raw):
    """WHMCS's yes for a flag parameter."""
    return str(raw).strip().lower() in ("1", "true", "on", "yes")


def parse_amount(raw, name, *, error=None):
    """An amount parameter's value as a finite Decimal, else WhmcsError naming the parameter (or `error`)."""
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        raise WhmcsError(error or f"Invalid {name}: an amount such as 10.00 is expected")
    return value


@dataclass
class Call:
    """One API call: its form parameters and who made it."""

    data: object  # QueryDict
    caller: object
    action: Action = None
    request: object = None

    @property
    def actor(self):
        return self.caller.actor

    def absolute(self, path):
        return self.request.build_absolute_uri(path) if self.request is not None else path

    def has(self, name):
        return str(self.data.get(name, "")).strip() != ""

    def str(self, name, default=""):
        value = self.data.get(name)
        return default if value is None else str(value).strip()

    def int(self, name, default=None, *, error=None):
        raw = self.str(name)
        if raw == "":
            return default
        try:
            return int(raw)
        except ValueError:
            raise WhmcsError(error or f"Invalid {name}: a whole number is expected") from None

    def decimal(self, name, default=None, *, error=None):
        raw = self.str(name)
        if raw == "":
            return default
        return parse_amount(raw, name, error=error)

    def bool(self, name, default=False):
        raw = self.str(name).lower()
        if raw == "":
            return default
        return truthy(raw)

    def date(self, name, default=None):
        raw = self.str(name)
        if raw == "":
            return default
        value = None
        if len(raw) == 8 and raw.isdigit():  # WHMCS's old Ymd form
            raw = f"{raw[:4]}-{raw[4:6]}-{raw[6:]}"
        try:
            value = parse_date(raw)
        except ValueError:
            pass
        if value is None:
            raise WhmcsError(f"Invalid {name}: use the format YYYY-MM-DD")
        return value

    def indexed(self, name):
        """WHMCS array parameters: name[]=a&name[]=b, name[0]=a&name[1]=b, or a plain name=a."""
        values = [v for v in self.data.getlist(f"{name}[]") if str(v).strip()]
        numbered = sorted(
            (int(key[len(name) + 1 : -1]), self.data.get(key))
            for key in self.data
            if key.startswith(f"{name}[") and key.endswith("]") and key[len(name) + 1 : -1].isdigit()
        )
        values += [v for _, v in numbered if str(v).strip()]
        if not values and self.has(name):
            values = [self.str(name)]
        return [str(v).strip() for v in values]

    def mapping(self, name):
        """name[key]=value pairs as a dict (e.g. configoptions[12]=3)."""
        prefix = f"{name}["
        return {
            key[len(prefix) : -1]: self.data.get(key)
            for key in self.data
            if key.startswith(prefix) and key.endswith("]") and len(key) > len(prefix) + 1
        }


def paginate(call, queryset, *, default=25):
    """WHMCS pagination: limitstart (offset) and limitnum; returns (rows, totalresults/startnumber/numreturned)."""
    start = max(call.int("limitstart", 0), 0)
    limit = call.int("limitnum", default)
    limit = default if limit is None or limit < 1 else min(limit, 1000)
    total = queryset.count()
    rows = list(queryset[start : start + limit])
    return rows, {"totalresults": total, "startnumber": start, "numreturned": len(rows)}


def filter_by(call, queryset, **lookups):
    """Filter by each parameter given: lookups map a parameter to (ORM lookup, "int" | "str" | "date")."""
    for param, (lookup, kind) in lookups.items():
        if call.has(param):
            queryset = queryset.filter(**{lookup: getattr(call, kind)(param)})
    return queryset


def get_or_error(queryset, pk, message):
    try:
        return queryset.get(pk=int(pk))
    except (TypeError, ValueError, queryset.model.DoesNotExist):
        raise WhmcsError(message) from None
