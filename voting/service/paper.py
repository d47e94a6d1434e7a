"""Paper and assisted ballots (纸质选票、协助投票): a clerk records them with a photo of the form
as evidence, and a household whose WeChat ballot they replace is told. Functions flush, never
commit; the caller commits once and asks for the tally after it.
"""

from __future__ import annotations

from sqlalchemy import or_, select

from api.core import InvalidInput, db, emit, utcnow
from feedback.service.uploads import evidence_upload
from participation.models import Project, Staff
from voting.models import BallotChange, Consultation, ElectorateEntry
from voting.service.ballots import NotEligible, check_open, write_ballot
from voting.service.consultations import lock


def record_paper_ballot(consultation: Consultation, staff: Staff, args: dict) -> dict:
    """A clerk records a paper or assisted ballot, with its evidence (the clerk's own upload of
    this project's, a photo of the form: 422 `upload_invalid` for anything else; 422
    `evidence_reused` for a photo already the evidence of another household's ballot or of
    another consultation; 422 `upload_published` for a published one) and an optional note,
    under their own identity.

    When it replaces a ballot the household cast on WeChat, voting announces
    `ballot_replaced`, so that the household's members hear of it (never of the choice).
    """
    consultation = lock(consultation.id, shared=True)
    check_open(consultation, utcnow())
    household_id = args["household_id"]
    if db.session.get(ElectorateEntry, (consultation.id, household_id)) is None:
        raise NotEligible(
            "该户不在本次表决的名单中", details={"reason": "household_not_in_electorate"}
        )
    if args["channel"] == "assisted" and not args.get("assisted_by"):
        raise InvalidInput("代为填写的选票须注明协助人", code="assisted_by_required")
    evidence = evidence_upload(
        db.session.get(Project, consultation.project_id),
        staff,
        args["evidence_upload_id"],
        field="evidence_upload_id",
        message="凭证须是您本人为本项目上传的纸质选票照片",
    )
    _require_fresh_evidence(consultation.id, household_id, evidence.id)
    receipt = write_ballot(
        consultation,
        household_id,
        args,
        channel=args["channel"],
        staff_id=staff.id,
        evidence_upload_id=evidence.id,
        evidence_note=args.get("evidence_note"),
        assisted_by=args.get("assisted_by"),
    )
    if _replaced_channel(consultation.id, household_id, receipt["revision"]) == "wechat":
        emit(
            "ballot_replaced",
            consultation_id=consultation.id,
            project_id=consultation.project_id,
            title=consultation.title,
            household_id=household_id,
            revision=receipt["revision"],
            channel=args["channel"],
        )
    return receipt


def _replaced_channel(consultation_id: int, household_id: int, revision: int) -> str | None:
    """The channel of the ballot that revision `revision` replaced (None for a first ballot).

    Read from the audit trail after the upsert rather than from the ballot before it: the
    upsert holds the ballot's row lock, so the change it replaced is committed and in the trail
    even when a member voted on WeChat a moment before the clerk's request came in. Only the
    paper path reads it; a resident's ballot costs nothing more.
    """
    if revision <= 1:
        return None
    return db.session.scalar(
        select(BallotChange.channel).where(
            BallotChange.consultation_id == consultation_id,
            BallotChange.household_id == household_id,
            BallotChange.revision == revision - 1,
        )
    )


def _require_fresh_evidence(consultation_id: int, household_id: int, upload_id: int) -> None:
    """One photo is the evidence of one household's ballot in one consultation: a clerk who
    records a correction for the same household may show the same form again, never another
    household's."""
    used = db.session.scalar(
        select(BallotChange.id)
        .where(
            BallotChange.evidence_upload_id == upload_id,
            or_(
                BallotChange.consultation_id != consultation_id,
                BallotChange.household_id != household_id,
            ),
        )
        .limit(1)
    )
    if used is not None:
        raise InvalidInput(
            "这张照片已是另一户选票的凭证，请上传本户纸质选票的照片",
            code="evidence_reused",
            details={"evidence_upload_id": upload_id},
        )
