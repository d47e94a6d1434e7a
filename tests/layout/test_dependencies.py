"""The dependency rule of DESIGN.md §3, read from the source of every module.

api/routes → domains → api.core: the kernel imports no domain and no other part of the shell;
a domain never imports a blueprint, `api.auth` or Flask's request; participation imports no
other domain; notices learns of voting's and feedback's events through their payloads and
imports neither; no domain reaches for another's private helpers.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOMAINS = ("participation", "voting", "feedback", "notices")


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _imports(path: Path) -> list[tuple[int, str]]:
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    return _imports_in(path.read_text(encoding="utf-8"), package)


def _imports_in(source: str, package: str) -> list[tuple[int, str]]:
    """Every imported name as a dotted path (`flask.request`, `api.auth`), with its line.

    `import a.b` gives `a.b`; `from a.b import c` gives `a.b.c`; relative imports are resolved
    against `package`; imports inside functions count too. So does `flask.request` used as an
    attribute after `import flask`.
    """
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                parts = package.split(".")
                base = parts[: len(parts) - (node.level - 1)]
                module = ".".join([*base, module] if module else base)
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "flask"
            and node.attr == "request"
        ):
            found.append((node.lineno, "flask.request"))
    return found


def _matches(name: str, forbidden: str) -> bool:
    return name == forbidden or name.startswith(forbidden + ".")


def _violations(paths, forbidden) -> list[str]:
    return [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in paths
        for line, name in _imports(path)
        if any(_matches(name, f) for f in forbidden)
    ]


DOMAIN_MODULES = [path for domain in DOMAINS for path in _modules(domain)]


def test_the_rule_checker_sees_what_it_must():
    source = (
        "import flask\n"
        "from flask import request\n"
        "from api import auth\n"
        "def f():\n"
        "    from api.routes.auth import blp\n"
        "    return flask.request\n"
        "from . import models\n"
        "from ..voting.tally import _helper\n"
    )
    names = {name for _, name in _imports_in(source, "participation")}
    assert {
        "flask.request",
        "api.auth",
        "api.routes.auth.blp",
        "participation.models",
        "voting.tally._helper",
    } <= names
    assert _matches("api.routes.auth.blp", "api.routes")
    assert not _matches("api.routesx", "api.routes")


def test_domains_import_no_request_no_blueprint_and_no_auth():
    assert DOMAIN_MODULES, "no domain modules found"
    assert _violations(DOMAIN_MODULES, ("flask.request", "api.routes", "api.auth")) == []


def test_participation_imports_no_other_domain():
    # voting, feedback and notices may use participation, never the other way round.
    assert _violations(_modules("participation"), ("voting", "feedback", "notices")) == []


def test_no_domain_imports_another_domains_private_helpers():
    bad = []
    for domain in DOMAINS:
        for path in _modules(domain):
            for line, name in _imports(path):
                parts = name.split(".")
                if parts[0] in DOMAINS and parts[0] != domain:
                    if any(part.startswith("_") and part != "__init__" for part in parts):
                        bad.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert bad == []


KERNEL = _modules("api/core")


def test_the_kernel_imports_no_domain_and_no_request_state():
    assert KERNEL, "no kernel modules found"
    forbidden = (*DOMAINS, "flask.request", "flask.g", "flask.session", "api.routes", "api.auth")
    assert _violations(KERNEL, forbidden) == []


def test_the_kernel_imports_no_other_part_of_the_shell():
    """The kernel sits under everything: no `api.*` module but its own."""
    shell = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in KERNEL
        for line, name in _imports(path)
        if name.startswith("api.") and not name.startswith("api.core")
    ]
    assert shell == []


def test_notices_imports_neither_voting_nor_feedback():
    """Notices learns of other domains' events through the events' payloads."""
    assert _violations(_modules("notices"), ("voting", "feedback")) == []


def test_no_domain_imports_a_blueprint_module():
    """Domains never reach into the HTTP layer's helpers (`api.http`, `api.extensions`)."""
    assert _violations(DOMAIN_MODULES, ("api.http", "api.extensions", "api.app")) == []


def test_voting_and_feedback_use_only_participations_public_modules():
    """Other domains may use participation's models, queries and policy's scope predicates,
    never its services, which are participation's own writes."""
    others = [path for domain in ("voting", "feedback", "notices") for path in _modules(domain)]
    assert _violations(others, ("participation.service",)) == []
