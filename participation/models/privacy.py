"""Residents' consents to the privacy notice (隐私政策)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.core import UTCDateTime, db, utcnow


class PrivacyConsent(db.Model):
    """A resident's acceptance of one version of the privacy notice (隐私政策), and when.

    One row per resident and version: accepting the same version again changes nothing, and a
    new version of the notice is accepted by a new row, so the history of what the resident
    agreed to is kept (PIPL art. 14: consent given with full knowledge of that version).
    """

    __tablename__ = "privacy_consents"
    __table_args__ = (UniqueConstraint("resident_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    version: Mapped[str] = mapped_column(String(20))
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
