"""The privacy notice (隐私政策) and residents' consent to it."""

from api import auth
from api.core import commit
from api.http import Blueprint
from participation import queries
from participation.schemas.privacy import (
    PrivacyConsentArgs,
    PrivacyConsentSchema,
    PrivacyNoticeSchema,
)
from participation.service import privacy as service

blp = Blueprint(
    "privacy", __name__, url_prefix="/api/v1", description="The privacy notice and consent"
)


@blp.get("/privacy")
@blp.response(200, PrivacyNoticeSchema)
@blp.errors(414, 431)
@blp.doc(security=[])
def privacy_notice():
    """The privacy notice in force: its version, title, effective date and text (Chinese).
    Served to anyone: a resident reads it before consenting. Its only errors are those of any
    request: an over-long address (414) or headers (431)."""
    return queries.privacy_notice()._asdict()


@blp.post("/me/privacy-consent")
@auth.consent_exempt
@auth.resident_required
@blp.arguments(PrivacyConsentArgs)
@blp.response(200, PrivacyConsentSchema)
@blp.errors(401, 403, 409)
def accept_privacy_notice(args):
    """Accept the privacy notice in force (the version `GET /privacy` gives; another version is
    a 409 `privacy_version_outdated`). Until a resident has, every call but sign-in, the notice,
    this one and their data rights (`GET /me/export`, `DELETE /me`) is a 403
    `consent_required`. Accepting again changes nothing. The reply's token carries the
    consent: the mini-program replaces its token with it."""
    resident = auth.current_resident()
    consent = service.accept_privacy_notice(resident, args["version"])
    reply = {
        "token": auth.issue_token(auth.RESIDENT, resident.id, consent=consent.version),
        "version": consent.version,
        "accepted_at": consent.accepted_at,
    }
    commit()
    return reply
