"""Writes of staff accounts: deactivation, reactivation, password resets and revoked grants.
Functions flush, never commit: the request commits once.

Each takes the acting staff member and the account, checks the remit (`policy`), and writes.
Deactivation and a password reset raise the account's `token_epoch`, which every token of the
account carries (`api.auth`): the tokens issued before stop working at once. The epoch is raised
by the database (`token_epoch + 1`), not written from the row as read: two resets at once each
end the tokens issued between them.
"""

from __future__ import annotations

from api.core import NotFound, db
from participation import policy
from participation.models import Staff


def _end_tokens(staff: Staff) -> None:
    staff.token_epoch = Staff.token_epoch + 1


def deactivate(actor: Staff, staff: Staff) -> Staff:
    """Deactivate `staff` (403 for the caller's own account or one outside their remit): it
    can no longer sign in, and its tokens stop working at once. Deactivating an inactive
    account changes nothing."""
    policy.require_manages_staff(actor, staff)
    if staff.active:
        staff.active = False
        _end_tokens(staff)
        db.session.flush()
    return staff


def activate(actor: Staff, staff: Staff) -> Staff:
    """Reactivate `staff`: it signs in again with its password; the tokens it held before its
    deactivation stay ended. Activating an active account changes nothing."""
    policy.require_manages_staff(actor, staff)
    if not staff.active:
        staff.active = True
        db.session.flush()
    return staff


def reset_password(actor: Staff, staff: Staff, password_hash: str) -> Staff:
    """Give `staff` the password whose hash is `password_hash` (made by the caller from a
    password the server generated) and end every token it holds."""
    policy.require_manages_staff(actor, staff)
    staff.password_hash = password_hash
    _end_tokens(staff)
    db.session.flush()
    return staff


def revoke_grant(actor: Staff, staff: Staff, grant_id: int) -> None:
    """Take grant `grant_id` from `staff`: 404 `grant_not_found` when the account holds no such
    grant, 403 for the caller's own account or one outside their remit. The account's
    requests answer to the grants it keeps from its next request on (grants are read with the
    account on every request). The last grant may go: the account then has none, and only the
    prefecture manages it."""
    policy.require_manages_staff(actor, staff)
    grant = next((g for g in staff.grants if g.id == grant_id), None)
    if grant is None:
        raise NotFound("找不到该授权", code="grant_not_found")
    staff.grants.remove(grant)
    db.session.flush()
