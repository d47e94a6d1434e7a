"""The one adapter around WeChat (through wechatpy). Nothing else talks to WeChat.

Every URL, the access-token URL included, is built on `WECHAT_API_BASE`, so tests and the demo
point the whole adapter at a local fake server. Failures come out as two domain errors:
`WeChatRejected` (WeChat answered with an error code) and `WeChatUnavailable` (no answer in time,
a connection error, or a reply that is not WeChat's).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import requests
from redis.exceptions import RedisError
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session import SessionStorage
from wechatpy.session.memorystorage import MemoryStorage
from wechatpy.session.redisstorage import RedisStorage

from api.core import ServiceUnavailable, Unauthorized

log = logging.getLogger(__name__)

# Codes jscode2session answers for a code that is wrong, used or expired.
INVALID_CODE_ERRORS = {40029, 40163, 40226, 41008}


class WeChatUnavailable(ServiceUnavailable):
    code = "wechat_unavailable"
    message = "微信服务暂时无法连接，请稍后再试"


class WeChatRejected(Exception):
    """WeChat answered with a non-zero errcode."""

    def __init__(self, errcode: int, errmsg: str):
        super().__init__(f"{errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


@dataclass(frozen=True)
class WeChatSession:
    """Who signed in. WeChat's session_key is left out: the service never uses it, so it is
    neither returned nor kept."""

    openid: str
    unionid: str | None


class _TokenStorage(SessionStorage):
    """The access token kept in Redis, shared by every process, with this process's own copy
    to fall back on while Redis does not answer: WeChat calls go on (a hung Redis costs each
    one `REDIS_TIMEOUT_SECONDS`), rather than failing, or fetching a new token every time."""

    def __init__(self, redis):
        self._shared = RedisStorage(redis, prefix="wechat")
        self._own = MemoryStorage()

    def get(self, key, default=None):
        try:
            value = self._shared.get(key)
        except RedisError as exc:
            log.warning("wechat token storage: %s, using this process's copy", type(exc).__name__)
            return self._own.get(key, default)
        return default if value is None else value

    def set(self, key, value, ttl=None):
        self._own.set(key, value, ttl)
        try:
            self._shared.set(key, value, ttl)
        except RedisError as exc:
            log.warning("wechat token storage: %s, kept in this process", type(exc).__name__)

    def delete(self, key):
        self._own.delete(key)
        try:
            self._shared.delete(key)
        except RedisError as exc:
            log.warning("wechat token storage: %s, not deleted", type(exc).__name__)


class _Client(WeChatClient):
    """wechatpy's client with every base URL, the token URL included, taken from settings."""

    def __init__(self, appid, secret, base_url, timeout, storage):
        super().__init__(appid, secret, session=storage, timeout=timeout)
        self.base_url = base_url
        self.API_BASE_URL = base_url + "cgi-bin/"
        # wxa/ and sns/ endpoints use the API object's own base URL.
        self.wxa.API_BASE_URL = base_url

    def fetch_access_token(self):
        return self._fetch_access_token(
            url=self.base_url + "cgi-bin/token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
        )

    def _fetch_access_token(self, url, params):
        # wechatpy sends the token request without a timeout; a hung WeChat would hang us.
        original = self._http.get

        def get_with_timeout(*args, **kwargs):
            kwargs.setdefault("timeout", self.timeout)
            return original(*args, **kwargs)

        self._http.get = get_with_timeout
        try:
            return super()._fetch_access_token(url, params)
        finally:
            self._http.get = original


class WeChat:
    """The adapter the app holds in `app.extensions["wechat"]`."""

    def __init__(self, appid, secret, base_url, timeout, token_storage=None):
        self._client = _Client(appid, secret, base_url, timeout, token_storage or MemoryStorage())

    @classmethod
    def from_config(cls, config, redis=None):
        storage = None
        if redis is not None:
            storage = _TokenStorage(redis)
        return cls(
            config["WECHAT_APPID"],
            config["WECHAT_SECRET"],
            config["WECHAT_API_BASE"],
            config["WECHAT_TIMEOUT_SECONDS"],
            storage,
        )

    def _call(self, what, func, *args, **kwargs):
        try:
            result = func(*args, **kwargs)
        except requests.RequestException as exc:
            log.warning("wechat %s failed: %s", what, type(exc).__name__)
            raise WeChatUnavailable() from None
        except WeChatClientException as exc:
            if exc.errcode is None:  # an HTTP error status, not a WeChat answer
                log.warning("wechat %s failed: HTTP error", what)
                raise WeChatUnavailable() from None
            log.info("wechat %s refused: errcode=%s", what, exc.errcode)
            raise WeChatRejected(int(exc.errcode), str(exc.errmsg)) from None
        if not isinstance(result, dict):
            log.warning("wechat %s answered something that is not JSON", what)
            raise WeChatUnavailable()
        return result

    def code_to_session(self, code: str) -> WeChatSession:
        """Exchange a `wx.login` code for the user's openid (and unionid, if any).

        Raises 401 `wechat_code_invalid` for a code WeChat rejects, 503 `wechat_unavailable`
        when WeChat cannot be reached in time.
        """
        try:
            # jscode2session needs no access token; wechatpy would fetch one first unless the
            # parameter is present, and requests drops a None-valued parameter from the URL.
            result = self._call(
                "code2session",
                self._client.get,
                "sns/jscode2session",
                api_base_url=self._client.base_url,
                params={
                    "appid": self._client.appid,
                    "secret": self._client.secret,
                    "js_code": code,
                    "grant_type": "authorization_code",
                    "access_token": None,
                },
            )
        except WeChatRejected as exc:
            if exc.errcode in INVALID_CODE_ERRORS:
                raise Unauthorized(
                    "微信登录凭证无效或已过期，请重新进入小程序", code="wechat_code_invalid"
                ) from None
            raise WeChatUnavailable() from None
        if not result.get("openid") or not result.get("session_key"):
            raise WeChatUnavailable()
        return WeChatSession(result["openid"], result.get("unionid"))

    # --- content security and subscription messages (these need the access token) ---------

    def check_text(self, openid: str, content: str, scene: int = 2) -> str:
        """WeChat's text check (msg_sec_check v2) for user content: "pass", "review" or "risky".

        `scene` 2 is a comment. Raises `WeChatUnavailable` when WeChat cannot answer.
        """
        try:
            result = self._call(
                "msg_sec_check",
                self._client.post,
                "wxa/msg_sec_check",
                api_base_url=self._client.base_url,
                data={"content": content, "version": 2, "scene": scene, "openid": openid},
            )
        except WeChatRejected as exc:
            if exc.errcode == 87014:  # v1's "risky content"
                return "risky"
            raise WeChatUnavailable() from None
        suggest = (result.get("result") or {}).get("suggest", "pass")
        return suggest if suggest in ("pass", "review", "risky") else "review"

    def send_subscribe_message(self, openid: str, template_id: str, data: dict, page=None) -> int:
        """Send one subscription message (订阅消息); the msgid WeChat gives it.

        Raises `WeChatRejected` with WeChat's errcode (43101: the user has not accepted, or
        has used up, the template) and `WeChatUnavailable` when WeChat cannot answer.
        """
        body = {"touser": openid, "template_id": template_id, "data": data}
        if page:
            body["page"] = page
        result = self._call(
            "subscribe_send",
            self._client.post,
            "message/subscribe/send",
            data=body,
        )
        return int(result.get("msgid") or 0)
