"""The coverage table of docs/whmcs-api.md, generated from the registry (manage.py whmcs_coverage --write)."""
from api.whmcs.loader import load_actions
from api.whmcs.registry import CATEGORIES

START, END = "<!-- actions:start -->", "<!-- actions:end -->"


def table():
    actions = sorted(load_actions().values(), key=lambda a: (CATEGORIES.index(a.category), a.name.lower()))
    lines = ["| Category | Action | Supported | Permission (scope) | Required parameters | Notes |",
             "|---|---|---|---|---|---|"]
    for a in actions:
        required = ", ".join(p for p, _ in a.required)
        note = a.note.replace("|", "\\|")
        lines.append(f"| {a.category} | {a.name} | {'yes' if a.supported else 'no'} | {a.scope} | {required} | {note} |")
    supported = sum(1 for a in actions if a.supported)
    lines.append("")
    lines.append(f"{len(actions)} actions: {supported} supported, {len(actions) - supported} answer \"not supported\".")
    return "\n".join(lines)


def render(document):
    head, _, rest = document.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}\n{table()}\n{END}{tail}"
