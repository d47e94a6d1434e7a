"""The per-second cap on calls to WeChat's subscription message API.

`WECHAT_SEND_RATE_PER_SECOND` (0 = no cap) holds over every worker sharing the Redis: a counter
per calendar second (INCR, expiring after 2 s); a caller over the cap sleeps to the next
second and counts again. Without Redis (the embedded default) the counter is this process's.
"""

from __future__ import annotations

import threading
import time

from flask import current_app

_local_window = {"second": 0, "count": 0}
_local_lock = threading.Lock()


def _count_in(second: int) -> int:
    redis = current_app.extensions["redis"]
    if redis is not None:
        key = f"wechat-send-rate:{second}"
        pipe = redis.pipeline()
        pipe.incr(key)
        pipe.expire(key, 2)
        return pipe.execute()[0]
    with _local_lock:
        if _local_window["second"] != second:
            _local_window.update(second=second, count=0)
        _local_window["count"] += 1
        return _local_window["count"]


def pace() -> None:
    """Return when one more call may start within the cap (at once when there is none)."""
    rate = current_app.config["WECHAT_SEND_RATE_PER_SECOND"]
    if not rate:
        return
    while True:
        second = int(time.time())
        if _count_in(second) <= rate:
            return
        time.sleep(max(second + 1 - time.time(), 0.001))
