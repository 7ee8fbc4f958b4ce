"""The house has one direction (docs/architecture.md, *Floors*): each app imports only the apps on the floors below
it, no modules import each other in a circle, and a project import inside a function says why it cannot be at
the top. Read from the source with `ast`, so the test sees every import, at the top or inside a function."""
import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The floors, from the ground up: each app may import only those before it.
FLOORS = ["portal", "billing", "provisioning", "voip", "whmcs_import", "payments", "storefront", "api", "config"]


def project_files():
    for app in FLOORS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in project_files()}


def imports_of(path):
    """(line, imported module, inside a function?, the source lines around it) of each project import."""
    source = path.read_text()
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # `from pkg import module` imports the module when one of that name exists.
            targets = [f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in MODULES else node.module
                       for alias in node.names]
        else:
            continue
        for target in targets:
            if target.split(".")[0] in FLOORS:
                found.append((node.lineno, target, node.col_offset > 0, lines[max(0, node.lineno - 3):node.lineno]))
    return found


def floor(module):
    return FLOORS.index(module.split(".")[0])


def test_every_app_imports_only_the_floors_below_it():
    upward = [f"{module_name(path)}:{line} imports {target}"
              for path in project_files() for line, target, _, _ in imports_of(path)
              if floor(target) > floor(module_name(path))]
    assert upward == []


def test_no_modules_import_each_other_in_a_circle():
    graph = defaultdict(set)
    for path in project_files():
        for _, target, _, _ in imports_of(path):
            while target and target not in MODULES:  # `from billing.models import X` → billing.models
                target = target.rpartition(".")[0]
            if target and target != module_name(path):
                graph[module_name(path)].add(target)
    assert circles(graph) == []


def test_a_project_import_inside_a_function_says_why():
    hidden = [f"{module_name(path)}:{line} imports {target}"
              for path in project_files() for line, target, inside, around in imports_of(path)
              if inside and not says_why(around)]
    assert hidden == []


def says_why(lines):
    """A comment on the import's line or on one of the two lines above it."""
    *above, line = lines
    return "  # " in line or any(text.strip().startswith("#") for text in above)


def circles(graph):
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


@pytest.mark.parametrize("graph, expected", [
    ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
    ({"a": {"b"}, "b": {"c"}}, []),
])
def test_the_circle_finder_finds_circles_and_only_circles(graph, expected):
    assert circles(graph) == expected
