"""Browser tests of the staff console: Debian's Chromium (`/usr/bin/chromium`, never a browser
Playwright downloads) driven by the Python `playwright` package, against a live server.

- `live`: the demo as `scripts/demo` runs it (tests/support/demo.py: migrations, `seed-demo`, the
  fake WeChat, `flask run` on free ports and a SQLite file of its own), serving the built console
  from `console/dist` at `/console/`; `live.passwords` are the staff passwords seed-demo printed.
- `page`: a new browser context at 1366×768 with Chinese as its language. A page error (an
  uncaught exception in the console's code) fails the test. A failing test leaves a screenshot,
  and `shot(page, name)` a named one, in `tests/console/artifacts/` (README: The staff console).
- Tests marked `browser` are skipped with the reason when Chromium or the build is missing, and
  fail instead when `REQUIRE_BROWSER=1`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.support.demo import Demo, printed_passwords

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
# TEST_CONSOLE_DIST: a build of its own (`npx vite build --outDir …`), so that parallel work on
# the console does not rebuild the folder a running browser test is serving.
DIST = Path(os.environ.get("TEST_CONSOLE_DIST") or ROOT / "console" / "dist")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
REQUIRE_BROWSER = os.environ.get("REQUIRE_BROWSER") == "1"
VIEWPORT = {"width": 1366, "height": 768}
# What a closed network needs (the machine's notes): no background connections, no QUIC, no
# component or sync updates, so Chromium does not wait on hosts it cannot reach.
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not CHROMIUM.is_file():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    if not (DIST / "index.html").is_file():
        return "console/dist is missing (cd console && npm ci && npm run build)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the Python package playwright is missing (pip install -e '.[test]')"
    return None


def require_browser() -> None:
    """Skip what cannot run here for want of the browser or the build, or fail it under
    REQUIRE_BROWSER=1. Called by the session fixtures too: pytest sets them up before any
    function-scoped fixture, autouse or not."""
    reason = browser_missing()
    if reason and REQUIRE_BROWSER:
        pytest.fail(f"REQUIRE_BROWSER=1 but {reason}")
    if reason:
        pytest.skip(f"browser test: {reason}")


@pytest.fixture(autouse=True)
def _browser_ready(request):
    if "browser" in request.node.keywords:
        require_browser()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.stash[_CALL_FAILED] = report.failed
    return report


_CALL_FAILED = pytest.StashKey[bool]()


class Live:
    def __init__(self, demo: Demo):
        self.demo = demo
        self.origin = f"http://127.0.0.1:{demo.port}"
        self.console = f"{self.origin}/console/"
        self.passwords = printed_passwords(demo.seed_output)


@pytest.fixture(scope="session")
def live(tmp_path_factory):
    require_browser()
    with Demo(tmp_path_factory.mktemp("live"), console_dist=DIST) as demo:
        yield Live(demo)


@pytest.fixture(scope="session")
def chromium():
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


def _artifact(name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / (re.sub(r"[^\w.-]+", "_", name)[:150] + ".png")


def shot(page, name: str) -> Path:
    """A screenshot of the whole page, kept in the artifacts as `name`.png."""
    path = _artifact(name)
    page.screenshot(path=str(path), full_page=True, animations="disabled")
    return path


@pytest.fixture
def page(request, chromium, live):
    context = chromium.new_context(viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    try:
        if request.node.stash.get(_CALL_FAILED, False):
            path = shot(page, f"FAILED-{request.node.nodeid}")
            print(f"screenshot of the failure: {path}")
    finally:
        context.close()
    assert not errors, f"the console raised in the browser: {errors}"
