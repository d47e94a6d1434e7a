"""Sign-in for residents (WeChat) and staff (username and password), and `/me`."""

from flask import current_app, request

from api import auth
from api.core import Unauthorized, commit
from api.extensions import limiter
from api.http import Blueprint
from participation import queries
from participation.models import Resident
from participation.schemas.registry import (
    MeSchema,
    StaffLoginArgs,
    StaffLoginSchema,
    WeChatLoginArgs,
    WeChatLoginSchema,
)
from participation.service import registry as service

blp = Blueprint("auth", __name__, url_prefix="/api/v1", description="Sign-in and the current user")


def _staff_login_key():
    body = request.get_json(silent=True)
    username = body.get("username") if isinstance(body, dict) else None
    # Counted as the login reads it (StaffLoginArgs strips white space), so that " alice" and
    # "alice" share one window instead of each giving another round of guesses.
    return f"{request.remote_addr}|{str(username).strip()[:64]}"


def _staff_login_address_key():
    return request.remote_addr or ""


def _login_failed(response) -> bool:
    # A wrong username or password; and any answer the server failed to give, so that no
    # input that breaks the sign-in can be repeated without limit.
    return response.status_code == 401 or response.status_code >= 500


@blp.post("/auth/wechat-login")
@blp.arguments(WeChatLoginArgs)
@blp.response(200, WeChatLoginSchema)
@blp.errors(401, 503)
@blp.doc(security=[])
def wechat_login(args):
    """Exchange a `wx.login` code for a bearer token (the resident is created on first login).

    `consent_required` true: the resident has not accepted the privacy notice in force
    (`privacy_version`); the token then serves only the notice (`GET /privacy`), the consent
    (`POST /me/privacy-consent`, which gives a new token) and the resident's data rights."""
    session = current_app.extensions["wechat"].code_to_session(args["code"])
    resident = service.sign_in_resident(session.openid, session.unionid, args.get("nickname"))
    version = queries.privacy_notice().version
    consented = queries.privacy_consent(resident.id, version) is not None
    commit()
    return {
        "token": auth.issue_token(
            auth.RESIDENT, resident.id, consent=version if consented else None
        ),
        "user": _resident_user(resident),
        "consent_required": not consented,
        "privacy_version": version,
    }


@blp.post("/auth/staff-login")
@limiter.limit(
    lambda: current_app.config["STAFF_LOGIN_LIMIT"],
    key_func=_staff_login_key,
    deduct_when=_login_failed,
)
@limiter.limit(
    lambda: current_app.config["STAFF_LOGIN_ADDRESS_LIMIT"],
    key_func=_staff_login_address_key,
    deduct_when=_login_failed,
)
@blp.arguments(StaffLoginArgs)
@blp.response(200, StaffLoginSchema)
@blp.errors(401, 429)
@blp.doc(security=[])
def staff_login(args):
    """Sign a staff member in. Failures are rate limited (429): per username and address
    (STAFF_LOGIN_LIMIT), and per address over all usernames (STAFF_LOGIN_ADDRESS_LIMIT)."""
    staff = queries.staff_by_username(args["username"])
    if not auth.staff_credentials_valid(staff, args["password"]):
        raise Unauthorized("用户名或密码错误", code="invalid_credentials")
    return {"token": auth.staff_token(staff), "user": staff}


def _resident_user(resident: Resident) -> dict:
    return {
        "id": resident.id,
        "nickname": resident.nickname,
        "claims": queries.resident_claims(resident),
    }


@blp.get("/me")
@auth.login_required
@blp.response(200, MeSchema)
@blp.errors(401)
def me():
    """The current user: a resident with their households, or staff with their role grants."""
    caller = auth.current_caller()
    if isinstance(caller, Resident):
        return {
            "kind": "resident",
            "id": caller.id,
            "nickname": caller.nickname,
            "households": queries.resident_claims(caller),
        }
    return {"kind": "staff", "id": caller.id, "username": caller.username, "roles": caller.grants}
