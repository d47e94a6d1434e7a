"""The console's API types (console/src/api/schema.d.ts) are what the served OpenAPI document
gives: `npm run gen:api -- --check` regenerates them in memory and compares. A change of the API
therefore shows here first, then in `npm run typecheck` wherever the console relied on it.

Needs the console's packages (`cd console && npm ci`): skipped without them, a failure with
REQUIRE_BROWSER=1 (CI, once it installs them)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from api.config import SETTINGS
from tests.console.conftest import REQUIRE_BROWSER, ROOT

CONSOLE = ROOT / "console"


def test_the_generated_api_types_match_the_openapi_document():
    node = shutil.which("node")
    reason = None
    if node is None:
        reason = "node is not installed (Node.js >= 20)"
    elif not (CONSOLE / "node_modules" / "openapi-typescript").is_dir():
        reason = "console/node_modules is missing (cd console && npm ci)"
    if reason and REQUIRE_BROWSER:
        pytest.fail(f"REQUIRE_BROWSER=1 but {reason}")
    if reason:
        pytest.skip(reason)
    done = subprocess.run(
        [node, "scripts/gen-api.mjs", "--check"],
        cwd=CONSOLE,
        env={
            **{k: v for k, v in os.environ.items() if k not in SETTINGS},
            "PYTHON_BIN": sys.executable,
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
