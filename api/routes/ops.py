"""What a load balancer, a process supervisor and Prometheus ask: `/healthz`, `/readyz`,
`/metrics`. Unauthenticated (but `/metrics`, see `may_read_metrics`), cheap, outside `/api/v1`
and outside the OpenAPI document: they are the operator's, not the clients'.

- `GET /healthz`: 200 `{"status": "ok"}` while the process answers; it touches nothing else.
- `GET /readyz`: 200 when the database answers at the newest migration and Redis (if set)
  answers, each within a second (`api.health`); otherwise 503 `not_ready` in the error shape,
  with each check's answer in `details.checks` and the failed ones in `details.failed`.
- `GET /metrics`: Prometheus' text format (`api.metrics`).
"""

from __future__ import annotations

import hmac
from ipaddress import ip_address

from flask import Blueprint, Flask, Response, current_app, request
from prometheus_client.exposition import choose_encoder

from api.health import Readiness
from api.http import HTTP_ERRORS, error_response
from api.logs import install_request_ids
from api.metrics import install as install_metrics

blp = Blueprint("ops", __name__)


@blp.get("/healthz")
def healthz():
    return {"status": "ok"}


@blp.get("/readyz")
def readyz():
    checks = current_app.extensions["readiness"].check()
    failed = sorted(name for name, answer in checks.items() if answer != "ok")
    if failed:
        return error_response(
            503, "not_ready", "服务尚未就绪", {"failed": failed, "checks": checks}
        )
    return {"status": "ok", "checks": checks}


def may_read_metrics() -> Response | None:
    """None if the caller may read the metrics, else the refusal.

    With `METRICS_TOKEN`: the caller must send it as a bearer token (401 otherwise). Without
    it: only a caller on this host (the loopback), and never in production, where the
    endpoint then answers 404 as if it did not exist: behind a proxy on the same host every
    caller would look local."""
    token = current_app.config["METRICS_TOKEN"]
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), token.encode()
        ):
            return None
        return error_response(
            401,
            "metrics_token_required",
            "需要有效的监控令牌",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    if current_app.config["APP_ENV"] != "production" and _loopback(request.remote_addr):
        return None
    return error_response(404, *HTTP_ERRORS[404])


def _loopback(address: str | None) -> bool:
    try:
        return ip_address(address or "").is_loopback
    except ValueError:
        return False


@blp.get("/metrics")
def metrics():
    refusal = may_read_metrics()
    if refusal is not None:
        return refusal
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    registry = current_app.extensions["metrics"].registry_to_scrape()
    return Response(encode(registry), headers={"Content-Type": content_type})


def register(app: Flask) -> None:
    """The three endpoints, and what every request gets from operations: an id that its log
    lines and its reply's `X-Request-ID` carry, and a count and timing in the metrics."""
    app.extensions["readiness"] = Readiness()
    install_metrics(app)
    install_request_ids(app)  # installed last, so its id comes first
    app.register_blueprint(blp)
