"""WeChat's wire format, served by pytest-httpserver, for tests.

`install(server)` answers the endpoints the adapter uses as WeChat does, from the state held in
the returned `FakeWeChat` (known codes, failures to inject, messages received).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field

from werkzeug.wrappers import Request, Response

APPID, SECRET = "wx-demo-appid", "demo-secret"


def _json(payload, status=200):
    return Response(
        json.dumps(payload, ensure_ascii=False), status, content_type="application/json"
    )


@dataclass
class FakeWeChat:
    codes: dict = field(default_factory=dict)  # code -> openid
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

    def _gate(self, request: Request):
        with self.lock:
            self.calls.append(request.path)
        if self.delay:
            time.sleep(self.delay)
        if self.down:
            return Response("bad gateway", 502)
        return None

    def code2session(self, request: Request):
        if (gate := self._gate(request)) is not None:
            return gate
        args = request.args
        if args.get("appid") != APPID or args.get("secret") != SECRET:
            return _json({"errcode": 40125, "errmsg": "invalid appsecret"})
        if "access_token" in args:
            return _json({"errcode": 40002, "errmsg": "unexpected access_token"})
        openid = self.codes.get(args.get("js_code"))
        if openid is None:
            return _json({"errcode": 40029, "errmsg": "invalid code, rid: fake"})
        return _json({"openid": openid, "session_key": "fake-session-key==", "unionid": None})

    def token(self, request: Request):
        if (gate := self._gate(request)) is not None:
            return gate
        if request.args.get("appid") != APPID or request.args.get("secret") != SECRET:
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
        content = json.loads(request.get_data() or b"{}").get("content", "")
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


def install(server) -> FakeWeChat:
    fake = FakeWeChat()
    server.expect_request("/sns/jscode2session").respond_with_handler(fake.code2session)
    server.expect_request("/cgi-bin/token").respond_with_handler(fake.token)
    server.expect_request("/cgi-bin/message/subscribe/send", method="POST").respond_with_handler(
        fake.subscribe_send
    )
    server.expect_request("/wxa/msg_sec_check", method="POST").respond_with_handler(
        fake.msg_sec_check
    )
    return fake
