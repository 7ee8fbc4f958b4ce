"""responsetype=xml: the response as WHMCS writes it, <whmcsapi> with one element per field; a list repeats
its parent element's singular child (clients → <client>…</client><client>…</client>)."""
from xml.sax.saxutils import escape


def _value(value):
    if value is True:
        return "true"
    if value is False:
        return "false"
    return escape("" if value is None else str(value))


def _element(name, value, out):
    if isinstance(value, dict):
        out.append(f"<{name}>")
        for key, item in value.items():
            _element(key, item, out)
        out.append(f"</{name}>")
    elif isinstance(value, list):
        for item in value:
            _element(name, item, out)
    else:
        out.append(f"<{name}>{_value(value)}</{name}>")


def render(payload):
    out = ['<?xml version="1.0" encoding="utf-8"?>', "<whmcsapi>"]
    for key, value in payload.items():
        _element(key, value, out)
    out.append("</whmcsapi>")
    return "\n".join(out)
