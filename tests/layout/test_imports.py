"""Every module of the project imports on its own, in a fresh interpreter, and builds nothing.

One interpreter loads only third-party libraries, then forks once per module: each child starts
with none of the project's modules loaded, exactly as `python -c "import voting.models"` would,
so a circular import or work that needs an app at import time fails here, named by its module.
(`wsgi.py` is left out: building the app when imported is its one job.)

What every child would otherwise repeat is done once, before the forks, without running any
project code (tests/support/preforked.py): each project source is compiled to its code object
(no `.pyc` is written here, so each child would compile the same sixty-odd files again; a child
still compiles a file that changed or does not compile, and reports its error), and the
collector is told to leave the preloaded objects alone (`gc.freeze`). Four children run at a
time, a new one as soon as one ends.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.preforked import COMPILE_ONCE

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("api", "participation", "voting", "feedback", "notices", "devtools")


def project_modules() -> list[str]:
    names = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            names.append(".".join(parts))
    return names


MODULES = project_modules()

# Runs in a child interpreter: preload third-party libraries only, then fork per module.
_CHECKER = r"""
import importlib, json, os, sys, traceback
import flask, flask_smorest, flask_sqlalchemy, flask_limiter, flask_migrate, marshmallow
import sqlalchemy, redis, rq, wechatpy, openpyxl, webargs, apispec

PROJECT = ("api", "participation", "voting", "feedback", "notices", "devtools", "wsgi", "tests")
assert not [m for m in sys.modules if m.split(".")[0] in PROJECT], "project module preloaded"

COMPILE_ONCE
import select

def start(name):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            importlib.import_module(name)
            message = ""
        except BaseException:
            message = traceback.format_exc(limit=-3)
        os.write(write, message.encode()[:60000])
        os._exit(0)
    os.close(write)
    return pid, read


def finish(pid, read):
    chunks = []
    while chunk := os.read(read, 65536):
        chunks.append(chunk)
    os.close(read)
    os.waitpid(pid, 0)
    return b"".join(chunks).decode(errors="replace")


results = {}
waiting = json.loads(sys.argv[1])[::-1]
running = {}
while waiting or running:
    while waiting and len(running) < 4:  # four children at a time
        name = waiting.pop()
        pid, read = start(name)
        running[pid] = (name, read)
    ready = select.select([read for _, read in running.values()], [], [])[0]
    pid = next(pid for pid, (_, read) in running.items() if read == ready[0])
    name, read = running.pop(pid)
    results[name] = finish(pid, read)  # its pipe ended: the child has written all it will
print(json.dumps(results))
""".replace("COMPILE_ONCE\n", COMPILE_ONCE)


@pytest.fixture(scope="module")
def import_results() -> dict[str, str]:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", _CHECKER, json.dumps(MODULES)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_module_list_covers_the_domains_and_the_shell():
    assert {"api.app", "api.core", "participation.models", "voting.models"} <= set(MODULES)
    assert len(MODULES) > 40


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_on_its_own(import_results, module):
    assert import_results[module] == "", f"import {module} failed alone:\n{import_results[module]}"


def test_the_checker_sees_a_circular_import(tmp_path):
    """The fork-per-module checker reports an import cycle as a failure (it is no test that
    cannot fail)."""
    (tmp_path / "cyc").mkdir()
    (tmp_path / "cyc" / "__init__.py").write_text("from cyc import a\n")
    (tmp_path / "cyc" / "a.py").write_text("from cyc.b import thing\nvalue = 1\n")
    (tmp_path / "cyc" / "b.py").write_text("from cyc.a import value\nthing = value\n")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"}
    checker = _CHECKER.replace('"tests")', '"tests", "cyc")')
    done = subprocess.run(
        [sys.executable, "-c", checker, json.dumps(["cyc.b"])],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "ImportError" in json.loads(done.stdout)["cyc.b"]


def test_importing_builds_no_app_and_opens_no_connection():
    """Importing the whole project creates no Flask app and no database engine."""
    probe = (
        "import importlib, json, sys\n"
        "import flask\n"
        "made = []\n"
        "original = flask.Flask.__init__\n"
        "def spy(self, *a, **k):\n"
        "    made.append(a[0] if a else '?')\n"
        "    original(self, *a, **k)\n"
        "flask.Flask.__init__ = spy\n"
        "for name in json.loads(sys.argv[1]):\n"
        "    importlib.import_module(name)\n"
        "from api.core import db\n"
        "print(json.dumps({'apps': made, 'engines': len(db._app_engines)}))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", probe, json.dumps(MODULES)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"apps": [], "engines": 0}
