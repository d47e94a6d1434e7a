"""Bearer tokens, the current caller, and the decorators that demand one.

A token is signed with SECRET_KEY (itsdangerous) and carries the kind of caller, its id and,
for a resident, the version of the privacy notice they accepted; it expires after
TOKEN_TTL_SECONDS. What a caller may do with an object is decided by the domain policies
(`participation.policy`, ...), never here.

The privacy consent travels in the token so that checking it costs no statement: every request
that reads a resident's token (`_token_claims`) is refused with 403 `consent_required` unless
the token names the notice in force, except by views marked `@consent_exempt` (the notice, the
consent itself, and the resident's rights over their data).
"""

from __future__ import annotations

import secrets
from functools import wraps

from flask import current_app, g, has_app_context, request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from api.core import Forbidden, Unauthorized, audit, db
from api.core.fields import ID_MAX
from api.core.trace import current_request_id
from participation import policy
from participation.models import Resident, Staff

RESIDENT, STAFF = "resident", "staff"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="bearer-token")


def issue_token(
    kind: str, subject_id: int, consent: str | None = None, epoch: int | None = None
) -> str:
    """A signed token for a resident or a staff member; `consent` is the version of the privacy
    notice the resident accepted (a resident's token without the version in force is refused
    everywhere but the views marked `consent_exempt`); `epoch` is the staff account's
    `token_epoch` when it signed in (a staff token of another epoch is refused: a password
    reset or a deactivation bumps it). A staff token without one counts as epoch 0."""
    payload = {"k": kind, "id": subject_id}
    if consent is not None:
        payload["c"] = consent
    if epoch:
        payload["e"] = epoch
    return _serializer().dumps(payload)


def staff_token(staff: Staff) -> str:
    """A signed token for this staff account, of its current epoch."""
    return issue_token(STAFF, staff.id, epoch=staff.token_epoch)


def consent_exempt(view):
    """Serve this view to a resident who has not accepted the privacy notice in force (the
    notice, the consent, the resident's export and erasure of their data). Put it anywhere
    among the view's decorators: the mark travels through `functools.wraps`."""
    view.consent_exempt = True
    return view


def _consent_exempt() -> bool:
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    return getattr(view, "consent_exempt", False)


# werkzeug's default (scrypt). Tests set PASSWORD_HASH_METHOD through `create_app(config=...)`
# to the factory's cheap work factor (devtools/factory.py HASH_METHOD); it is no setting.
DEFAULT_HASH_METHOD = "scrypt"


def _hash_method() -> str:
    if has_app_context():
        return current_app.config.get("PASSWORD_HASH_METHOD", DEFAULT_HASH_METHOD)
    return DEFAULT_HASH_METHOD


# A generated password's letters: no 0/O, 1/l/I, which a reader mistakes on a screen.
PASSWORD_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
PASSWORD_LENGTH = 14  # ~80 bits


def generate_password() -> str:
    """A new random password (`secrets`), for a reset: shown once to the staff member who
    asked for it, stored only as its hash."""
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=_hash_method())


def _stand_in_hash() -> str:
    """A hash of a random password, made as every stored hash is (one per app and method):
    checked when a sign-in names no account, so that it costs what a wrong password costs."""
    cache = current_app.extensions.setdefault("stand_in_hashes", {})
    method = _hash_method()
    if method not in cache:
        cache[method] = generate_password_hash(secrets.token_urlsafe(24), method=method)
    return cache[method]


def password_matches(stored_hash: str, password: str) -> bool:
    """`password` is the one `stored_hash` was made from. Never raises on what a caller
    sends: a password that cannot be UTF-8 (a lone surrogate such as "\\ud800") matches
    nothing, after the same work as a wrong password."""
    try:
        password.encode("utf-8")
    except UnicodeEncodeError:
        check_password_hash(stored_hash, "")
        return False
    return check_password_hash(stored_hash, password)


def staff_credentials_valid(staff: Staff | None, password: str) -> bool:
    """`staff` exists, is active, and `password` is theirs.

    Every call checks exactly one password hash: an unknown username is checked against a
    stand-in hash and a deactivated account against its own, so neither the answer nor the
    time it takes tells which usernames exist.
    """
    stored = staff.password_hash if staff is not None else _stand_in_hash()
    matches = password_matches(stored, password)
    return staff is not None and staff.active and matches


def _token_claims() -> tuple[str, int]:
    """The kind of caller and its id from the request's bearer token (checked once); 403
    `consent_required` for a resident whose token does not carry the privacy notice in force,
    unless the view is `consent_exempt`."""
    if "claims" in g:
        return g.claims
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("请先登录", code="unauthorized")
    try:
        payload = _serializer().loads(
            token.strip(), max_age=current_app.config["TOKEN_TTL_SECONDS"]
        )
    except SignatureExpired:
        raise Unauthorized("登录已过期，请重新登录", code="token_expired") from None
    except BadSignature:
        raise Unauthorized("登录凭证无效，请重新登录", code="token_invalid") from None
    if (
        not isinstance(payload, dict)
        or payload.get("k") not in (RESIDENT, STAFF)
        or not isinstance(payload.get("id"), int)
        or isinstance(payload["id"], bool)
        # An id no table can hold (a signed token is ours, but a bug or an old key must still
        # answer 401, not overflow the database's integer).
        or not 1 <= payload["id"] <= ID_MAX
        or not _is_epoch(payload.get("e", 0))
    ):
        raise Unauthorized("登录凭证无效，请重新登录", code="token_invalid")
    if payload["k"] == RESIDENT and not _consent_exempt():
        policy.require_privacy_consent(payload.get("c"))
    g.claims = (payload["k"], payload["id"])
    g.token_epoch = payload.get("e", 0)
    return g.claims


def _is_epoch(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= ID_MAX


def token_claims() -> tuple[str, int]:
    """The kind of caller (`RESIDENT` or `STAFF`) and its id, from the signed token alone."""
    return _token_claims()


def caller_model(kind: str):
    """The table of a caller of this kind."""
    return Resident if kind == RESIDENT else Staff


def keep_caller(caller):
    """Take `caller`, the row a view loaded for the token's subject (with what the view reads,
    in one statement), as this request's caller; 401 when the account does not exist, a staff
    account is deactivated or a resident's personal data was erased, as `current_caller`
    answers, and when a staff token is of another epoch than the account's (its password was
    reset, or it was deactivated, since the token was issued): the row is read anyway, so the
    check costs no statement."""
    if (
        caller is None
        or (isinstance(caller, Staff) and not caller.active)
        or (isinstance(caller, Resident) and caller.erased_at is not None)
    ):
        raise Unauthorized("账号不存在或已停用", code="token_invalid")
    if isinstance(caller, Staff) and caller.token_epoch != g.get("token_epoch", 0):
        raise Unauthorized("登录已失效（密码已重置或账号曾停用），请重新登录", code="token_invalid")
    g.caller = caller
    if isinstance(caller, Staff) and request.method in audit.WRITE_METHODS:
        audit.begin(db.session, _staff_actor(caller))
    return caller


def _staff_actor(staff: Staff) -> dict:
    """Who is writing, for the audit trail (`api.core.audit`): the account, its grants, the
    view and address, and the object the address names (its last `<name>_id`)."""
    view_args = request.view_args or {}
    ids = [(key[: -len("_id")], value) for key, value in view_args.items() if key.endswith("_id")]
    return {
        "staff_id": staff.id,
        "username": staff.username,
        "roles": [
            grant.role if grant.scope_id is None else f"{grant.role}:{grant.scope_id}"
            for grant in staff.grants
        ],
        "method": request.method,
        "path": request.path,
        "action": request.endpoint or "",
        "address": request.remote_addr,
        "request_id": current_request_id(),
        "subject": ids[-1] if ids else None,
    }


def _load_caller():
    kind, subject_id = _token_claims()
    # A staff member's grants come in the same statement: every staff request reads them.
    options = [joinedload(Staff.grants)] if kind == STAFF else []
    return keep_caller(db.session.get(caller_model(kind), subject_id, options=options))


def current_caller():
    """The signed-in resident or staff member of this request (loaded once)."""
    if "caller" not in g:
        g.caller = _load_caller()
    return g.caller


def token_required(view):
    """Any caller with a valid token; the view loads the caller together with what it reads
    (`participation.queries.caller_reading`, then `keep_caller`), so that the caller and their
    visibility cost one statement. Answers as `login_required` does: 401 before anything else."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        _token_claims()
        return view(*args, **kwargs)

    return wrapper


def login_required(view):
    """Any signed-in caller."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        current_caller()
        return view(*args, **kwargs)

    return wrapper


def resident_required(view):
    """A signed-in resident; staff get 403."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if not isinstance(current_caller(), Resident):
            raise Forbidden("此操作仅限居民本人", code="residents_only")
        return view(*args, **kwargs)

    return wrapper


def current_resident_id() -> int:
    """The signed-in resident's id from the token alone, without loading the row.

    For the ballot, the hot path: its eligibility query finds the resident among the frozen
    electorate or refuses, so loading the resident first would prove nothing more.
    """
    kind, subject_id = _token_claims()
    if kind != RESIDENT:
        raise Forbidden("此操作仅限居民本人", code="residents_only")
    return subject_id


def resident_token_required(view):
    """A resident's valid token; the resident row is not loaded (see current_resident_id)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        current_resident_id()
        return view(*args, **kwargs)

    return wrapper


def staff_required(view):
    """A signed-in staff member; residents get 403."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if not isinstance(current_caller(), Staff):
            raise Forbidden("此操作仅限工作人员", code="staff_only")
        return view(*args, **kwargs)

    return wrapper


def current_resident() -> Resident:
    caller = current_caller()
    if not isinstance(caller, Resident):
        raise Forbidden("此操作仅限居民本人", code="residents_only")
    return caller


def current_staff() -> Staff:
    caller = current_caller()
    if not isinstance(caller, Staff):
        raise Forbidden("此操作仅限工作人员", code="staff_only")
    return caller
