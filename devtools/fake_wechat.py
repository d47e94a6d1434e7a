"""A local stand-in for WeChat's servers, speaking their wire format: the one fake WeChat, run as
its own process by the demo and the benchmarks, and served by pytest-httpserver in the tests.

    python -m devtools.fake_wechat --host 127.0.0.1 --port 8765

- `GET  /sns/jscode2session`: a code the fake knows (`codes`) signs in as its openid; as its own
  process (`demo_codes`) a code `demo-<name>` or `code-<name>` signs in as openid
  `demo-openid-<name>`. Any other code gets WeChat's `40029 invalid code`.
- `GET  /cgi-bin/token`: an access token, for the configured appid and secret.
- `POST /cgi-bin/message/subscribe/send`: records the message (see `GET /_fake/messages`).
- `POST /wxa/msg_sec_check`: content containing 违禁 is risky (`87014`, as v1 answers);
  `suggest_for` answers as v2 does (errcode 0 with a `result`).

`FakeWeChat` holds the state (codes, tokens, messages received) and the failures a test injects
(a slow or broken gateway, errcodes to answer, stalls); `dispatch` turns a request into WeChat's
reply, and the object is itself a WSGI app.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import threading
import time
from dataclasses import dataclass, field

from werkzeug.serving import WSGIRequestHandler, run_simple
from werkzeug.wrappers import Request, Response

APPID, SECRET = "wx-demo-appid", "demo-secret"
DEMO_PREFIXES = ("demo-", "code-")

# (method, path, handler): the endpoints the app's WeChat adapter calls, and the fake's own.
ROUTES = (
    ("GET", "/sns/jscode2session", "code2session"),
    ("GET", "/cgi-bin/token", "token"),
    ("POST", "/cgi-bin/message/subscribe/send", "subscribe_send"),
    ("POST", "/wxa/msg_sec_check", "msg_sec_check"),
    ("GET", "/_fake/messages", "sent_messages"),
)


def _json(payload, status=200):
    return Response(
        json.dumps(payload, ensure_ascii=False), status, content_type="application/json"
    )


@dataclass
class FakeWeChat:
    appid: str = APPID
    secret: str = SECRET
    codes: dict = field(default_factory=dict)  # code -> openid
    demo_codes: bool = False  # also sign in `demo-<name>` and `code-<name>` (see the docstring)
    delay: float = 0.0  # seconds before each answer (a slow WeChat)
    down: bool = False  # answer 502 like a broken gateway
    token_calls: int = 0
    calls: list = field(default_factory=list)
    messages: list = field(default_factory=list)
    send_errors: list = field(default_factory=list)  # errcodes to answer, in order
    # per openid (touser): errcodes to answer that user's next sends, in order
    errors_for: dict = field(default_factory=dict)
    # per openid: seconds to stall that user's next sends before answering -1 without
    # delivering (a WeChat too slow to answer in time, that did not send either)
    stalls_for: dict = field(default_factory=dict)
    sent_at: list = field(default_factory=list)  # time.time() of each message received
    risky_words: tuple = ("违禁",)  # answered as v1 does: errcode 87014
    # word -> "risky" | "review" | "pass": answered as v2 does, errcode 0 with a `result`
    suggest_for: dict = field(default_factory=dict)
    checked: list = field(default_factory=list)  # the texts msg_sec_check was asked about
    tokens: set = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    # --- routing -------------------------------------------------------------------------------

    def dispatch(self, request: Request) -> Response:
        """WeChat's reply to `request` (404 or 405 for what WeChat does not serve)."""
        methods = {method: handler for method, path, handler in ROUTES if path == request.path}
        if not methods:
            return _json({"errcode": 404, "errmsg": "not found"}, 404)
        handler = methods.get(request.method)
        if handler is None:
            return _json({"errcode": 405, "errmsg": "method not allowed"}, 405)
        return getattr(self, handler)(request)

    def __call__(self, environ, start_response):
        return self.dispatch(Request(environ))(environ, start_response)

    # --- the endpoints -------------------------------------------------------------------------

    def _gate(self, request: Request):
        with self.lock:
            self.calls.append(request.path)
        if self.delay:
            time.sleep(self.delay)
        if self.down:
            return Response("bad gateway", 502)
        return None

    def _credentials_ok(self, request: Request) -> bool:
        return request.args.get("appid") == self.appid and request.args.get("secret") == self.secret

    def _signs_in(self, code: str) -> tuple[str, str | None] | None:
        """(openid, unionid) of a code, or None for a code WeChat would refuse."""
        if code in self.codes:
            return self.codes[code], None
        if self.demo_codes:
            for prefix in DEMO_PREFIXES:
                if code.startswith(prefix) and len(code) > len(prefix):
                    name = code[len(prefix) :]
                    digest = hashlib.sha1(name.encode()).hexdigest()[:12]
                    return f"demo-openid-{name}", f"demo-union-{digest}"
        return None

    def code2session(self, request: Request):
        if (gate := self._gate(request)) is not None:
            return gate
        if not self._credentials_ok(request):
            return _json({"errcode": 40125, "errmsg": "invalid appsecret"})
        if "access_token" in request.args:
            return _json({"errcode": 40002, "errmsg": "unexpected access_token"})
        signed_in = self._signs_in(request.args.get("js_code", ""))
        if signed_in is None:
            return _json({"errcode": 40029, "errmsg": "invalid code, rid: fake"})
        openid, unionid = signed_in
        return _json({"openid": openid, "session_key": "fake-session-key==", "unionid": unionid})

    def token(self, request: Request):
        if (gate := self._gate(request)) is not None:
            return gate
        if not self._credentials_ok(request):
            return _json({"errcode": 40125, "errmsg": "invalid appsecret"})
        with self.lock:
            self.token_calls += 1
            value = f"token-{self.token_calls}"
            self.tokens.add(value)
        return _json({"access_token": value, "expires_in": 7200})

    def _token_ok(self, request):
        return request.args.get("access_token") in self.tokens

    def subscribe_send(self, request: Request):
        if (gate := self._gate(request)) is not None:
            return gate
        if not self._token_ok(request):
            return _json({"errcode": 40001, "errmsg": "invalid credential"})
        body = json.loads(request.get_data() or b"{}")
        touser = body.get("touser")
        with self.lock:
            stalls = self.stalls_for.get(touser)
            stall = stalls.pop(0) if stalls else 0
        if stall:
            time.sleep(stall)
            return _json({"errcode": -1, "errmsg": "system busy"})
        with self.lock:
            user_errors = self.errors_for.get(touser)
            if user_errors:
                return _json({"errcode": user_errors.pop(0), "errmsg": "fake error"})
            if self.send_errors:
                code = self.send_errors.pop(0)
                if code:
                    return _json({"errcode": code, "errmsg": "fake error"})
            self.messages.append(body)
            self.sent_at.append(time.time())
        return _json({"errcode": 0, "errmsg": "ok", "msgid": len(self.messages)})

    def msg_sec_check(self, request: Request):
        if (gate := self._gate(request)) is not None:
            return gate
        if not self._token_ok(request):
            return _json({"errcode": 40001, "errmsg": "invalid credential"})
        content = str(json.loads(request.get_data() or b"{}").get("content", ""))
        with self.lock:
            self.checked.append(content)
        if any(word in content for word in self.risky_words):
            return _json({"errcode": 87014, "errmsg": "risky content"})
        for word, suggest in self.suggest_for.items():
            if word in content:
                label = 100 if suggest == "pass" else 20001
                return _json(
                    {
                        "errcode": 0,
                        "errmsg": "ok",
                        "result": {"suggest": suggest, "label": label},
                        "detail": [
                            {
                                "strategy": "content_model",
                                "errcode": 0,
                                "suggest": suggest,
                                "label": label,
                                "prob": 90,
                            }
                        ],
                        "trace_id": "fake-trace",
                    }
                )
        return _json({"errcode": 0, "errmsg": "ok"})

    def sent_messages(self, request: Request):
        """The messages received so far (not WeChat's: the demo's look inside)."""
        with self.lock:
            return _json({"messages": list(self.messages)})


class KeepAliveHandler(WSGIRequestHandler):
    """HTTP/1.1, so a client keeps its connection as it does with WeChat's servers (a
    benchmark then measures the app, not a TCP handshake per message)."""

    protocol_version = "HTTP/1.1"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--appid", default=APPID)
    parser.add_argument("--secret", default=SECRET)
    options = parser.parse_args(argv)
    fake = FakeWeChat(appid=options.appid, secret=options.secret, demo_codes=True)
    run_simple(options.host, options.port, fake, threaded=True, request_handler=KeepAliveHandler)


if __name__ == "__main__":
    main()
