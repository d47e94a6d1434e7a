"""README.md stays in step with the code: every setting, every command and every variable of
the scripts is documented, and the Quick start walk-through runs as written against the demo."""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest

from api.config import SETTINGS
from tests.support.demo import Demo, printed_passwords

README = Path(__file__).resolve().parents[2] / "README.md"


def _section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    assert f"\n## {title}\n" in text, f"README.md has no '## {title}' section"
    return text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_readme_lists_every_setting():
    settings = _section("Settings")
    missing = [name for name in SETTINGS if f"| `{name}` |" not in settings]
    assert not missing, f"README.md's Settings table lacks {missing}"


def test_readme_lists_every_command(app):
    commands = _section("Commands")
    ours = set(app.cli.list_commands(None)) - {"db", "limiter", "openapi", "run", "shell", "routes"}
    missing = sorted(c for c in ours if f"| `{c}" not in commands)
    assert not missing, f"README.md's Commands table lacks {missing}"


ROOT = README.parent
# The shell scripts: all of scripts/ but gunicorn's settings (Python), and CI's.
SCRIPTS = sorted(
    [p for p in (ROOT / "scripts").iterdir() if p.suffix != ".py"] + [ROOT / ".ci" / "run"]
)


def variables_read(script: str) -> set[str]:
    """The environment variables a shell script reads: each `${NAME:-default}`, and each
    `$NAME` or `${NAME}` (not escaped, outside comments) that the script does not set itself."""
    code = "\n".join(line for line in script.splitlines() if not line.lstrip().startswith("#"))
    defaulted = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*):?[-=]", code))
    used = set(re.findall(r"(?<!\\)\$\{?([A-Z][A-Z0-9_]*)", code))
    assigned = set(re.findall(r"(?:^|[\s;(])(?:export\s+|local\s+)?([A-Z][A-Z0-9_]*)=", code, re.M))
    return defaulted | (used - assigned)


def test_variables_read_finds_what_a_script_reads():
    script = """
    # ${IN_A_COMMENT:-x}
    OURS=1 ALSO_OURS=2
    export MINE=${FROM_ENV:-5} PLAIN=$FROM_ENV_TOO
    echo "$OURS ${ALSO_OURS} $MINE \\$ESCAPED ${DEFAULTED_HERE:-1}"
    """
    assert variables_read(script) == {"FROM_ENV", "FROM_ENV_TOO", "DEFAULTED_HERE"}


def test_readme_lists_every_variable_the_scripts_read():
    documented = _section("Settings")  # the settings' table and the scripts' own
    read = {
        name: path.relative_to(ROOT).as_posix()
        for path in SCRIPTS
        for name in variables_read(path.read_text(encoding="utf-8"))
    }
    assert {"DEMO_PORT", "PYTHON", "CI_DATABASE", "TEST_DATABASE_URL"} <= set(read), read
    missing = sorted(
        f"{name} ({path})" for name, path in read.items() if f"| `{name}` |" not in documented
    )
    assert not missing, f"README.md's Settings lack the scripts' variables {missing}"


# --- the Quick start walk-through, run as written --------------------------------------------

PLACEHOLDER = "<the password printed for {}>"

# Put before the README's blocks: stop at the first step that fails (`json` fails on an API
# error), and record every curl call (arguments, HTTP status, body) in $CALLS, numbered.
PRELUDE = r"""
set -euo pipefail
shopt -s inherit_errexit
echo 0 > "$CALLS/count"
curl() {
  local n
  n=$(( $(cat "$CALLS/count") + 1 ))
  echo "$n" > "$CALLS/count"
  printf '%s\n' "$@" > "$CALLS/$n.args"
  command curl --max-time 30 -o "$CALLS/$n.body" -w '%{http_code}' "$@" > "$CALLS/$n.status"
  cat "$CALLS/$n.body"
}
"""


def walk_through() -> str:
    """The bash blocks of README's Quick start that call the API, in order."""
    quick_start = _section("Quick start")
    blocks = [block.split("\n```", 1)[0] for block in quick_start.split("```bash\n")[1:]]
    steps = [block for block in blocks if "curl" in block]
    assert len(steps) >= 3, "README.md's Quick start has lost its walk-through"
    return "\n".join(steps)


@dataclass
class Call:
    method: str
    path: str  # after /api/v1, with the query string, or the fake WeChat's own path
    status: int
    body: object


def _calls(folder: Path) -> list[Call]:
    calls = []
    for n in range(1, int((folder / "count").read_text()) + 1):
        args = (folder / f"{n}.args").read_text().splitlines()
        method = args[args.index("-X") + 1] if "-X" in args else "GET"
        url = next(a for a in args if a.startswith("http://"))
        path = "/" + url.split("/", 3)[3]
        text = (folder / f"{n}.body").read_text()
        calls.append(
            Call(
                method,
                path.removeprefix("/api/v1"),
                int((folder / f"{n}.status").read_text()),
                json.loads(text) if text.startswith(("{", "[")) else text,
            )
        )
    return calls


class Replies:
    """The walk-through's calls, looked up by method and path (a regular expression)."""

    def __init__(self, calls: list[Call]):
        self.calls = calls

    def all(self, method: str, path: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and re.fullmatch(path, c.path)]

    def one(self, method: str, path: str, status: int) -> dict:
        found = self.all(method, path)
        assert len(found) == 1, f"{method} {path}: {len(found)} calls in the walk-through"
        assert found[0].status == status, f"{method} {path}: {found[0].status} {found[0].body}"
        return found[0].body


def test_the_walk_throughs_json_prints_a_field_or_the_apis_error():
    helper = next(line for line in walk_through().splitlines() if line.startswith("json() {"))

    def run(reply: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["bash", "-c", f"{helper}\necho '{reply}' | json '[\"token\"]'"],
            capture_output=True,
            text=True,
            timeout=30,
        )

    served = run('{"token": "abc", "user": {}}')
    assert (served.returncode, served.stdout, served.stderr) == (0, "abc\n", "")
    error = '{"error": {"code": "gate_not_passed", "details": {}, "message": "门槛未通过"}}'
    refused = run(error)
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr == (
        'API error: {"code": "gate_not_passed", "details": {}, "message": "门槛未通过"}\n'
    )


def _error_of(url: str, token: str) -> tuple[int, str]:
    """(status, error code) of a GET the API refuses."""
    try:
        urlopen(Request(url, headers={"Authorization": f"Bearer {token}"}), timeout=30)
    except HTTPError as refused:
        return refused.code, json.loads(refused.read())["error"]["code"]
    raise AssertionError(f"GET {url} was served")


@pytest.mark.commits  # servers in other processes
def test_the_quick_start_walk_through_replies_as_it_says(tmp_path):
    script = walk_through()
    for address in ("127.0.0.1:5000", "127.0.0.1:8765"):
        assert address in script, f"the walk-through no longer calls {address}"
    calls_dir = tmp_path / "calls"
    calls_dir.mkdir()
    with Demo(tmp_path) as demo:
        passwords = printed_passwords(demo.seed_output)
        for user in ("clerk", "owner"):
            assert PLACEHOLDER.format(user) in script, f"the walk-through has no {user} password"
            script = script.replace(PLACEHOLDER.format(user), passwords[user])
        script = script.replace("127.0.0.1:5000", f"127.0.0.1:{demo.port}")
        script = script.replace("127.0.0.1:8765", f"127.0.0.1:{demo.wechat_port}")
        done = subprocess.run(
            ["bash", "-c", PRELUDE + script],
            env={**os.environ, "CALLS": str(calls_dir)},
            capture_output=True,
            text=True,
            timeout=300,
        )
        replies = Replies(_calls(calls_dir))
        assert done.returncode == 0, (
            f"the walk-through stopped (exit {done.returncode}) after "
            f"{[(c.method, c.path, c.status) for c in replies.calls[-3:]]}:\n"
            f"{done.stderr[-2000:]}\n--- app log ---\n{demo.log('app')}"
        )
        unconsented = replies.all("POST", "/auth/wechat-login")[0].body["token"]
        refused = _error_of(f"{demo.api}/me", unconsented)

    # Every step answered 2xx, but the one the README says is refused.
    refused_steps = [(c.method, c.path, c.status) for c in replies.calls if c.status >= 300]
    draft = replies.one("POST", "/projects/2/contribution-schemes", 201)
    assert refused_steps == [
        ("POST", "/projects/1/transitions", 409),
        ("POST", f"/contribution-schemes/{draft['id']}/adopt", 409),
    ], refused_steps

    # The privacy notice comes first; every resident signs in, accepts it and uses the new token.
    notice = replies.one("GET", "/privacy", 200)
    assert notice["version"] and notice["text"]
    logins = replies.all("POST", "/auth/wechat-login")
    consents = replies.all("POST", "/me/privacy-consent")
    assert len(logins) == len(consents) == 3
    assert all(login.body["privacy_version"] == notice["version"] for login in logins)
    assert [login.body["consent_required"] for login in logins[:2]] == [True, True]
    assert all(consent.body["version"] == notice["version"] for consent in consents)
    assert refused == (403, "consent_required")  # the sign-in's token, before the consent
    assert replies.one("GET", "/me", 200)["kind"] == "resident"

    # Zhang's claim matches the roster; Li's waits for the clerk, who lists it and approves it.
    zhang, li = replies.all("POST", "/me/households")
    assert (zhang.status, zhang.body["status"]) == (201, "verified")
    assert (li.status, li.body["status"]) == (201, "pending")
    pending = replies.one("GET", r"/communities/1/claims\?status=pending", 200)["items"]
    assert [c["id"] for c in pending] == [li.body["id"]]
    approved = replies.one("POST", rf"/claims/{li.body['id']}/approve", 200)
    assert approved["status"] == "verified"

    # Zhang accepted the notices' template; opening the consultation sent Zhang one message.
    recorded = replies.one("POST", "/me/subscriptions", 200)["recorded"]
    assert recorded == {"notice-demo-template": 1}
    consultation = replies.one("POST", "/projects/1/consultations", 201)
    assert replies.one("POST", rf"/consultations/{consultation['id']}/open", 200)["status"] == (
        "open"
    )
    messages = replies.one("GET", "/_fake/messages", 200)["messages"]
    assert [m["touser"] for m in messages] == ["demo-openid-zhang"]

    # Zhang's ballot has a receipt the turnout lists; the gate stays shut.
    receipt = replies.one("PUT", rf"/consultations/{consultation['id']}/ballot", 200)["receipt"]
    turnout = replies.one("GET", rf"/consultations/{consultation['id']}/turnout", 200)
    assert [row["receipt"] for row in turnout["items"]] == [receipt]
    gates = replies.all("GET", r"/projects/\d+/gate")
    assert [(g.path, g.body["passed"]) for g in gates] == [
        ("/projects/1/gate", False),
        ("/projects/2/gate", True),
    ]
    assert gates[1].body["final"] is True

    # `approved` succeeds; `construction` is refused: the gate is shut.
    approve, build = replies.all("POST", "/projects/1/transitions")
    assert (approve.status, approve.body["status"]) == (200, "approved")
    assert (build.status, build.body["error"]["code"]) == (409, "gate_not_passed")

    # On the building site: Wang signs up, the clerk accepts, Wang reports a problem.
    signup = replies.one("POST", "/projects/2/supervisors", 201)
    accepted = replies.one("POST", rf"/supervisors/{signup['id']}/accept", 200)
    assert accepted["status"] == "accepted"
    assert replies.one("POST", "/projects/2/problems", 201)["status"] == "open"

    # Residents' contributions: Wang's household's amount and its basis, a pledge, one payment
    # recorded once though sent twice, figures, the masked publicity; a new draft's sum against
    # the funding line, and its adoption refused until its own owners' decision passes.
    mine = replies.one("GET", "/me/contributions", 200)
    scheme = mine[0]["schemes"][0]
    assert scheme["status"] == "adopted" and "元" in scheme["basis_words"]
    pledge = replies.one("PUT", rf"/contribution-schemes/{scheme['scheme_id']}/pledges/\d+", 200)
    assert pledge["choice"] == "pledged"
    first, again = replies.all("POST", rf"/contribution-schemes/{scheme['scheme_id']}/entries")
    assert (first.status, again.status) == (201, 200)
    assert again.body["id"] == first.body["id"] and first.body["amount_fen"] == 50000
    totals = replies.one("GET", rf"/contribution-schemes/{scheme['scheme_id']}/figures", 200)
    assert totals["totals"]["paid_fen"] >= 50000
    shown = replies.one("GET", rf"/contribution-schemes/{scheme['scheme_id']}/publicity", 200)
    assert shown["items"] and all("*" in row["owner"] for row in shown["items"])
    assert draft["status"] == "draft" and draft["summary"]["total_fen"] > 0
    refusal = replies.all("POST", rf"/contribution-schemes/{draft['id']}/adopt")[0].body
    assert refusal["error"]["code"] == "decision_not_passed"
