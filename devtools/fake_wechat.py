"""A local stand-in for WeChat's servers, speaking their wire format, for the demo and benches.

    python -m devtools.fake_wechat --port 8765

- `GET  /sns/jscode2session`: a code `demo-<name>` (or `code-<name>`) signs in as openid
  `demo-openid-<name>`; any other code gets WeChat's `40029 invalid code`.
- `GET  /cgi-bin/token`: an access token, for the configured appid and secret.
- `POST /cgi-bin/message/subscribe/send`: records the message (see `GET /_fake/messages`).
- `POST /wxa/msg_sec_check`: content containing 违禁 is risky (`87014`).
Tests use pytest-httpserver with the same replies instead of this process.
"""

from __future__ import annotations

import argparse
import hashlib
import secrets
import threading

from flask import Flask, jsonify, request
from werkzeug.serving import WSGIRequestHandler


def create_fake(appid: str = "wx-demo-appid", secret: str = "demo-secret") -> Flask:
    app = Flask("fake_wechat")
    app.json.ensure_ascii = False
    tokens: set[str] = set()
    messages: list[dict] = []
    lock = threading.Lock()

    def token_ok():
        return request.args.get("access_token") in tokens

    @app.get("/sns/jscode2session")
    def jscode2session():
        if request.args.get("appid") != appid or request.args.get("secret") != secret:
            return jsonify(errcode=40125, errmsg="invalid appsecret")
        code = request.args.get("js_code", "")
        for prefix in ("demo-", "code-"):
            if code.startswith(prefix) and len(code) > len(prefix):
                name = code[len(prefix) :]
                return jsonify(
                    openid=f"demo-openid-{name}",
                    session_key=secrets.token_urlsafe(16),
                    unionid=f"demo-union-{hashlib.sha1(name.encode()).hexdigest()[:12]}",
                )
        return jsonify(errcode=40029, errmsg="invalid code")

    @app.get("/cgi-bin/token")
    def token():
        if request.args.get("appid") != appid or request.args.get("secret") != secret:
            return jsonify(errcode=40125, errmsg="invalid appsecret")
        value = secrets.token_urlsafe(24)
        with lock:
            tokens.add(value)
        return jsonify(access_token=value, expires_in=7200)

    @app.post("/cgi-bin/message/subscribe/send")
    def subscribe_send():
        if not token_ok():
            return jsonify(errcode=40001, errmsg="invalid credential")
        body = request.get_json(force=True, silent=True) or {}
        with lock:
            messages.append(body)
        return jsonify(errcode=0, errmsg="ok", msgid=len(messages))

    @app.post("/wxa/msg_sec_check")
    def msg_sec_check():
        if not token_ok():
            return jsonify(errcode=40001, errmsg="invalid credential")
        body = request.get_json(force=True, silent=True) or {}
        if "违禁" in str(body.get("content", "")):
            return jsonify(errcode=87014, errmsg="risky content")
        return jsonify(errcode=0, errmsg="ok")

    @app.get("/_fake/messages")
    def sent_messages():
        with lock:
            return jsonify(messages=list(messages))

    return app


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--appid", default="wx-demo-appid")
    parser.add_argument("--secret", default="demo-secret")
    options = parser.parse_args()
    create_fake(options.appid, options.secret).run(
        options.host, options.port, threaded=True, request_handler=KeepAliveHandler
    )


class KeepAliveHandler(WSGIRequestHandler):
    """HTTP/1.1, so a client keeps its connection as it does with WeChat's servers (a
    benchmark then measures the app, not a TCP handshake per message)."""

    protocol_version = "HTTP/1.1"


if __name__ == "__main__":
    main()
