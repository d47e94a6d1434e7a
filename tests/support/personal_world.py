"""A resident with a row in every table that points at residents: the feedback world
(tests/support/feedback_world.py) with, for a chosen resident, what it lacks written straight
into the database: a consultation still open and a closed one they are in the electorate of,
with their household's ballot and its audit row; a delegation in an owners' decision; comments
(one still waiting for WeChat), a like and a report; a pending sign-up; a place among the
acceptance's representatives; a notice addressed to them, read, with a message waiting to be
sent and a message template accepted.

Every text the resident wrote carries `marker`, so a test can tell whose rows an export holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func, select

from api.core import db, utcnow
from feedback.models import (
    Acceptance,
    AcceptanceRepresentative,
    Comment,
    CommentLike,
    CommentReport,
    SupervisorSignup,
    Upload,
)
from feedback.models.estate_rules import EstateRules, RulesComment
from notices.models import Delivery, Notice, NoticeRead, SubscriptionConsent
from participation.models import (
    ContributionDue,
    ContributionPledge,
    ContributionScheme,
    Household,
    HouseholdClaim,
)
from voting.models import (
    Ballot,
    BallotChange,
    Consultation,
    Delegation,
    ElectorateEntry,
    ElectorMember,
    Tally,
)


@dataclass
class Rich:
    """What `enrich` wrote for one resident, by id."""

    resident_id: int
    household_id: int
    open_consultation: int = 0  # plan satisfaction, open: the resident's ballot is in
    closed_consultation: int = 0  # plan satisfaction, closed: the resident's ballot is in
    decision: int = 0  # owners' decision, open: the resident delegated their vote
    delegation: int = 0
    comment: int = 0  # visible
    waiting_comment: int = 0  # pending_check: WeChat could not check it yet
    pending_signup: int = 0
    notice: int = 0  # addressed to the resident alone
    delivery: int = 0  # pending
    receipts: dict = field(default_factory=dict)  # consultation id -> receipt


def _consultation(project_id, plan_id, clerk_id, status, kind="plan_satisfaction", **extra):
    now = utcnow()
    consultation = Consultation(
        project_id=project_id,
        plan_id=plan_id,
        kind=kind,
        title=f"{kind} {status}",
        status=status,
        opened_at=now - timedelta(days=10),
        closed_at=now - timedelta(days=1) if status == "closed" else None,
        eligible_households=1,
        eligible_persons=1,
        eligible_area=80,
        created_by_id=clerk_id,
        **extra,
    )
    db.session.add(consultation)
    db.session.flush()
    db.session.add(Tally(consultation_id=consultation.id))
    return consultation


def _elector(consultation, household, resident_id):
    db.session.add(
        ElectorateEntry(
            consultation_id=consultation.id,
            household_id=household.id,
            estate_id=household.estate_id,
            floor_area=household.floor_area,
            members=1,
        )
    )
    db.session.flush()
    db.session.add(
        ElectorMember(
            consultation_id=consultation.id, resident_id=resident_id, household_id=household.id
        )
    )


def _ballot(consultation, household, resident_id, receipt, marker):
    db.session.add_all(
        [
            Ballot(
                consultation_id=consultation.id,
                household_id=household.id,
                choice="satisfied",
                comment=f"{marker}的意见",
                receipt=receipt,
                channel="wechat",
                resident_id=resident_id,
                weight_area=household.floor_area,
                weight_persons=1,
            ),
            BallotChange(
                consultation_id=consultation.id,
                household_id=household.id,
                revision=1,
                choice="satisfied",
                channel="wechat",
                resident_id=resident_id,
            ),
        ]
    )


def enrich(app, w, actor: str, marker: str, *, other_resident: str = "neighbour") -> Rich:
    """Give `actor` of the feedback world `w` a row in every table that points at residents
    (see the module docstring); committed."""
    with app.app_context():
        resident_id = w.callers[actor] if actor in w.callers else w.neighbour
        household = db.session.get(Household, w.households[actor])
        r = Rich(resident_id=resident_id, household_id=household.id)
        clerk, owner = w.callers["clerk"], w.callers["owner"]

        opened = _consultation(w.construction, w.plan, clerk, "open")
        closed = _consultation(w.construction, w.plan, clerk, "closed")
        decision = _consultation(
            w.construction, None, clerk, "open", kind="owners_decision", matter="rebuild"
        )
        for consultation in (opened, closed, decision):
            _elector(consultation, household, resident_id)
        db.session.flush()
        for consultation, receipt in ((opened, f"{marker}OPEN"), (closed, f"{marker}SHUT")):
            _ballot(consultation, household, resident_id, receipt[:16], marker)
            r.receipts[consultation.id] = receipt[:16]

        power = Upload(
            project_id=w.construction,
            uploader_id=resident_id,
            path=f"{w.construction}/{marker}-power.jpg",
            content_type="image/jpeg",
            size=1,
            sha256="1" * 64,
        )
        db.session.add(power)
        db.session.flush()
        other = w.callers.get(other_resident, w.neighbour)
        delegation = Delegation(
            consultation_id=decision.id,
            household_id=household.id,
            owner_id=resident_id,
            delegate_id=other,
            power_of_attorney_upload_id=power.id,
            note=f"{marker}委托",
            status="verified",
        )
        db.session.add(delegation)

        comment = Comment(
            project_id=w.construction, author_id=resident_id, body=f"{marker}评论", status="visible"
        )
        waiting = Comment(
            project_id=w.construction,
            author_id=resident_id,
            body=f"{marker}待检",
            status="pending_check",
        )
        db.session.add_all([comment, waiting])
        # A pledge to an adopted contribution scheme (居民出资, issue 15), with a reason typed.
        scheme = ContributionScheme(
            project_id=w.construction,
            title=f"{marker}出资方案",
            basis="household",
            rate_fen=10_000,
            due_on=utcnow().date(),
            status="adopted",
            adopted_at=utcnow(),
            created_by_id=clerk,
        )
        db.session.add(scheme)
        db.session.flush()
        db.session.add(
            ContributionDue(
                scheme_id=scheme.id,
                household_id=household.id,
                estate_id=household.estate_id,
                building_id=household.building_id,
                floor_area=household.floor_area,
                amount_fen=10_000,
            )
        )
        db.session.flush()
        db.session.add(
            ContributionPledge(
                scheme_id=scheme.id,
                household_id=household.id,
                choice="declined",
                reason=f"{marker}暂不出资的理由",
                resident_id=resident_id,
            )
        )
        # A comment on the estate's management rules (小区管理办法, issue 15).
        version = db.session.scalar(
            select(func.coalesce(func.max(EstateRules.version), 0)).where(
                EstateRules.estate_id == w.estate
            )
        )
        rules = EstateRules(
            estate_id=w.estate,
            version=version + 1,
            title=f"{marker}管理办法",
            body="条文",
            status="published",
            created_by_id=clerk,
        )
        db.session.add(rules)
        db.session.flush()
        db.session.add(
            RulesComment(
                rules_id=rules.id,
                author_id=resident_id,
                household_id=household.id,
                body=f"{marker}管理办法意见",
                status="visible",
            )
        )
        db.session.add(CommentLike(comment_id=w.comment, resident_id=resident_id))
        db.session.add(
            CommentReport(comment_id=w.comment, resident_id=resident_id, reason=f"{marker}举报")
        )
        signup = SupervisorSignup(
            project_id=w.other,
            resident_id=resident_id,
            household_id=household.id,
            note=f"{marker}报名",
            status="pending",
        )
        db.session.add(signup)
        acceptance = db.session.scalar(
            select(Acceptance).where(Acceptance.project_id == w.accepted)
        )
        known = db.session.scalar(
            select(AcceptanceRepresentative.id).where(
                AcceptanceRepresentative.acceptance_id == acceptance.id,
                AcceptanceRepresentative.resident_id == resident_id,
            )
        )
        if known is None:
            db.session.add(
                AcceptanceRepresentative(
                    acceptance_id=acceptance.id,
                    resident_id=resident_id,
                    household_id=household.id,
                    verdict="pass",
                    remarks=f"{marker}验收意见",
                )
            )

        notice = Notice(
            category="ticket_answered",
            title=f"{marker}通知",
            body=f"{marker}正文",
            target_kind="resident",
            county_id=w.county,
            recipient_id=resident_id,
            status="published",
            published_at=utcnow(),
            author_id=owner,
        )
        db.session.add(notice)
        db.session.flush()
        db.session.add(NoticeRead(notice_id=notice.id, resident_id=resident_id))
        db.session.add(SubscriptionConsent(resident_id=resident_id, template_id=f"{marker}tpl"))
        delivery = Delivery(
            notice_id=notice.id, resident_id=resident_id, template_id=f"{marker}tpl"
        )
        db.session.add(delivery)
        db.session.commit()

        r.open_consultation, r.closed_consultation = opened.id, closed.id
        r.decision, r.delegation = decision.id, delegation.id
        r.comment, r.waiting_comment = comment.id, waiting.id
        r.pending_signup, r.notice, r.delivery = signup.id, notice.id, delivery.id
        assert db.session.scalar(
            select(HouseholdClaim.id).where(HouseholdClaim.resident_id == resident_id)
        )
        db.session.remove()
    return r
