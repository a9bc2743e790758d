"""The folder tree is the architecture: no import cycles, layers one way, the domain off the web."""

import re
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
PARKAPP = ROOT / "parkapp"
DOMAIN = [
    "core",
    "accounts",
    "lots",
    "pricing",
    "memberships",
    "ev",
    "billing",
    "booking",
    "waitlist",
    "gate",
    "analytics",
    "exports",
]
MAX_MODULE_LINES = 400
WEB = re.compile(
    r"\burl_for\b|from flask import [^\n]*\brequest\b|\bparkapp\.(admin|user|auth|check|api|web)\b"
)


@pytest.fixture(scope="module")
def graph():
    sys.path.insert(0, str(ROOT))
    return grimp.build_graph("parkapp", cache_dir=None)


def _cycles(nodes, edges):
    """Strongly connected components of more than one node (Tarjan, iterative enough here)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in edges[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for node in sorted(nodes):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles_between_modules(graph):
    modules = graph.modules
    edges = {m: graph.find_modules_directly_imported_by(m) for m in modules}
    assert _cycles(modules, edges) == []


def test_no_import_cycles_between_packages(graph):
    def package(module):
        return ".".join(module.split(".")[:2])

    packages = {package(m) for m in graph.modules}
    edges = {p: set() for p in packages}
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            if package(imported) != package(module):
                edges[package(module)].add(package(imported))
    assert _cycles(packages, edges) == []


def test_the_layers_contract_holds():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]


@pytest.mark.parametrize("package", DOMAIN)
def test_the_domain_never_reaches_into_the_web(package):
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sorted((PARKAPP / package).rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if WEB.search(line)
    ]
    assert offenders == []


def test_every_package_says_what_it_owns():
    undocumented = [
        str(init.relative_to(ROOT))
        for init in sorted(PARKAPP.rglob("__init__.py"))
        if not init.read_text().lstrip().startswith('"""')
    ]
    assert undocumented == []


def test_modules_stay_small():
    large = {
        str(path.relative_to(ROOT)): lines
        for path in sorted(PARKAPP.rglob("*.py"))
        if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert large == {}
