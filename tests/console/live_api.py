"""The live demo's API as the browser tests call it beside the console: what residents do
through the mini-program (sign in through the fake WeChat, accept the privacy notice, claim,
vote) and what a test sets up as staff.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request


def call(live, method: str, path: str, body=None, token: str | None = None) -> dict:
    """The JSON reply of `method path` (under /api/v1), whatever its status."""
    request = urllib.request.Request(
        live.demo.api + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"}
        | ({"Authorization": f"Bearer {token}"} if token else {}),
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return json.loads(reply.read() or b"{}")
    except urllib.error.HTTPError as error:
        return json.loads(error.read())


def resident(live, name: str) -> str:
    """The token of a resident signed in through the fake WeChat (code `demo-<name>`) who
    accepted the privacy notice."""
    reply = call(live, "POST", "/auth/wechat-login", {"code": f"demo-{name}"})
    consent = call(
        live, "POST", "/me/privacy-consent", {"version": reply["privacy_version"]}, reply["token"]
    )
    return consent["token"]


def staff(live, username: str, password: str | None = None) -> str:
    """The token of a staff account (a demo one's password from seed-demo by default)."""
    reply = call(
        live,
        "POST",
        "/auth/staff-login",
        {"username": username, "password": password or live.passwords[username]},
    )
    return reply["token"]
