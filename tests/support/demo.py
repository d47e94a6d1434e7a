"""The demo as `scripts/demo` runs it, for the tests of README's walk-through.

`printed_passwords` reads the staff passwords `seed-demo` prints. `Demo` starts what
`scripts/demo` starts, on a SQLite file of the test's own and free ports instead of
`instance/app.db`, 5000 and 8765: the migrations (`flask db upgrade`), `flask seed-demo`, the
fake WeChat of devtools/fake_wechat.py as its own process, and `flask run`, with jobs in-process
(no Redis) and `WECHAT_API_BASE` pointed at the fake, as the script sets them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from api.config import SETTINGS

ROOT = Path(__file__).resolve().parents[2]


def printed_passwords(output: str) -> dict[str, str]:
    """username -> password, from the lines `seed-demo` prints under "Staff accounts"
    ("  clerk    Xy3…   (committee 1)")."""
    return {
        line.split()[0]: line.split()[1]
        for line in output.splitlines()
        if line.startswith("  ") and "(" in line and "estate" not in line
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


class Demo:
    """`scripts/demo` in a folder of the test's own; a context manager that stops the two
    processes it started. `api` is the base of the API's paths, `seed_output` what seed-demo
    printed, `wechat_port` the fake WeChat's port."""

    def __init__(self, folder: Path, console_dist: Path | None = None):
        self.folder = folder
        self.port, self.wechat_port = free_port(), free_port()
        self.api = f"http://127.0.0.1:{self.port}/api/v1"
        # The app's settings as scripts/demo leaves them: none of the caller's, jobs in-process.
        self.env = {
            k: v
            for k, v in os.environ.items()
            if k not in SETTINGS and not k.startswith(("TEST_", "FLASK_"))
        }
        self.env.update(
            APP_ENV="development",
            DATABASE_URL=f"sqlite:///{folder / 'app.db'}",
            UPLOAD_DIR=str(folder / "uploads"),
            WECHAT_API_BASE=f"http://127.0.0.1:{self.wechat_port}/",
            PYTHONDONTWRITEBYTECODE="1",
        )
        if console_dist is not None:  # a console built elsewhere (tests/console/conftest.py)
            self.env["CONSOLE_DIST"] = str(console_dist)
        self.processes: list[subprocess.Popen] = []
        self.logs: list = []
        self.seed_output = ""

    def _flask(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, f"flask {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def _start(self, name: str, command: list[str], port: int) -> None:
        log = open(self.folder / f"{name}.log", "wb")  # closed in __exit__
        self.logs.append(log)
        process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=log)
        self.processes.append(process)
        deadline = time.monotonic() + 30
        while not _answers(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{name} did not start:\n{self.log(name)}")
            time.sleep(0.1)

    def log(self, name: str) -> str:
        """The last lines `name` ("app" or "wechat") wrote."""
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def __enter__(self) -> Demo:
        try:
            self._flask("db", "upgrade")
            self.seed_output = self._flask("seed-demo")
            self._start(
                "wechat",
                [sys.executable, "-m", "devtools.fake_wechat", "--port", str(self.wechat_port)],
                self.wechat_port,
            )
            self._start(
                "app",
                [sys.executable, "-m", "flask", "--app", "wsgi", "run"]
                + ["--host", "127.0.0.1", "--port", str(self.port)],
                self.port,
            )
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in self.logs:
            log.close()
