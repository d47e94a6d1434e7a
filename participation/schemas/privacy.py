"""What the privacy notice's endpoints take (`…Args`) and give (`…Schema`)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields

from api.core.fields import text


class PrivacyNoticeSchema(ma.Schema):
    """The privacy notice in force (隐私政策), for the mini-program to show before consent."""

    version = fields.String(metadata={"description": "what `POST /me/privacy-consent` accepts"})
    title = fields.String()
    effective_date = fields.Date()
    text = fields.String(metadata={"description": "the notice's full text, in Chinese"})


class PrivacyConsentArgs(ma.Schema):
    class Meta:
        description = (
            "`version` is the one `GET /privacy` gives: another version (a screen showing an "
            "older text) is a 409 `privacy_version_outdated` whose details name the current one."
        )

    version = text(32, required=True)


class PrivacyConsentSchema(ma.Schema):
    token = fields.String(
        metadata={
            "description": "a new bearer token carrying the consent: use it instead of the one "
            "sent, which is still refused with 403 `consent_required`"
        }
    )
    version = fields.String()
    accepted_at = fields.DateTime(
        metadata={"description": "when the resident first accepted this version"}
    )
