"""Domain errors: refusals a caller can act on. Domains raise them; the HTTP layer turns each
into the one error shape with its `status`."""

from __future__ import annotations


class DomainError(Exception):
    """A refusal the caller can act on: a stable English code and a Chinese message."""

    status = 400
    code = "bad_request"
    message = "请求有误"

    def __init__(self, message: str | None = None, *, code: str | None = None, details=None):
        super().__init__(message or self.message)
        self.message = message or self.message
        if code:
            self.code = code
        self.details = details or {}


class InvalidInput(DomainError):
    status = 422
    code = "invalid"
    message = "提交的内容有误"


class NotFound(DomainError):
    status = 404
    code = "not_found"
    message = "找不到该记录"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    message = "没有权限进行此操作"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"
    message = "请先登录"


class Conflict(DomainError):
    status = 409
    code = "conflict"
    message = "当前状态不允许此操作"


class ServiceUnavailable(DomainError):
    status = 503
    code = "unavailable"
    message = "服务暂时不可用，请稍后再试"
