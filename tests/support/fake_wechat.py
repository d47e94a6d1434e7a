"""The fake WeChat of devtools/fake_wechat.py, served by the session's pytest-httpserver.

`install(server)` answers every request the server receives from a fresh `FakeWeChat` (known
codes, failures to inject, messages received) and returns it.
"""

from __future__ import annotations

import re

from devtools.fake_wechat import APPID, SECRET, FakeWeChat

__all__ = ["APPID", "SECRET", "FakeWeChat", "install"]


def install(server) -> FakeWeChat:
    fake = FakeWeChat()
    server.expect_request(re.compile("^/")).respond_with_handler(fake.dispatch)
    return fake
