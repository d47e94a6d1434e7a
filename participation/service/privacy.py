"""Residents' consent to the privacy notice (隐私政策). Functions flush, never commit."""

from __future__ import annotations

from api.core import db, dialect_insert, utcnow
from participation import policy, queries
from participation.models import PrivacyConsent, Resident


def accept_privacy_notice(resident: Resident, version: str) -> PrivacyConsent:
    """Record that `resident` accepted `version` of the notice, which must be the one in force
    (409 `privacy_version_outdated` otherwise). Accepting it again changes nothing: the first
    acceptance, with its time, is the one kept and returned (race-free: one insert-if-absent)."""
    policy.require_current_privacy_version(version)
    db.session.execute(
        dialect_insert(PrivacyConsent)
        .values(resident_id=resident.id, version=version, accepted_at=utcnow())
        .on_conflict_do_nothing(index_elements=["resident_id", "version"])
    )
    return queries.privacy_consent(resident.id, version)
