"""The world of the estate rules tests (小区管理办法, issue 15).

County 甲 holds community 甲 with estate A (four households: h0 owned by `resident_in`, h1
owned by `owner1` and rented by `tenant`, h2, h3) and estate A2 (two households), both covered
by project P. County 乙 holds community 乙 with estate B (one household, `resident_out`),
covered by project Q. Owners' decisions, each counted to the end through voting's services:

- `passed_1`, `passed_2`: P, 管理规约, every owner agrees (both estates pass);
- `mixed`: P, 管理规约, A's owners disagree, A2's agree (A2 passes, A fails);
- `failed`: P, 管理规约, everyone disagrees;
- `open`: P, 管理规约, open; `draft`: P, 管理规约, not opened;
- `wrong_matter`: P, using the maintenance fund, passed;
- `satisfaction`: P, a plan satisfaction consultation (not an owners' decision), draft;
- `other_project`: Q, 管理规约, passed (B's only owner agrees).

Estate A's rules: version 1 adopted by `passed_1`; version 2 published (comments open) with
`resident_in`'s visible comment and `owner1`'s hidden one; version 3 a draft.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from api.core import db
from devtools import factory
from feedback.models.estate_rules import EstateRules, RulesComment
from feedback.service import estate_rules
from participation.models import Estate, Project, Staff
from voting.service import ballots, consultations
from voting.service.tally import recompute

ACTORS = (
    "anonymous",
    "resident_in",  # verified owner of a household of estate A
    "tenant",  # verified tenant of a household of estate A
    "resident_out",  # verified owner in estate B (another county)
    "clerk",  # committee of community 甲
    "clerk_out",  # committee of community 乙
    "county",  # officer of county 甲
    "county_out",  # officer of county 乙
    "prefecture",
    "owner",  # owner of project P (covering estate A): no say over the estate's rules
)
RESIDENTS_IN = ("resident_in", "tenant")
RESIDENTS = ("resident_in", "tenant", "resident_out")
STAFF_IN = ("clerk", "county", "prefecture")
STAFF_OUT = ("clerk_out", "county_out", "owner")


@dataclass
class RulesWorld:
    estate: int = 0
    estate_a2: int = 0
    estate_b: int = 0
    project: int = 0
    other_project: int = 0
    decisions: dict = field(default_factory=dict)  # name -> consultation id
    adopted: int = 0  # rules ids
    published: int = 0
    draft: int = 0
    comment: int = 0  # resident_in's visible comment on the published version
    hidden_comment: int = 0  # owner1's, hidden by the clerk
    callers: dict = field(default_factory=dict)  # actor -> id
    headers: dict = field(default_factory=dict)  # actor -> request headers


def decide(project: Project, clerk: Staff, votes: dict[int, str], *, matter: str, state="closed"):
    """An owners' decision of `project` on `matter`, with `votes` (resident id → choice) cast,
    closed and counted unless `state` says `open` or `draft`; its id. Flushes."""
    consultation = consultations.create_consultation(
        project,
        clerk,
        {"kind": "owners_decision", "matter": matter, "title": f"业主共同决定（{matter}）"},
    )
    if state == "draft":
        return consultation.id
    consultations.open_consultation(consultation)
    for resident_id, choice in votes.items():
        ballots.cast_ballot(consultation.id, resident_id, {"choice": choice})
    if state == "closed":
        consultations.close_consultation(consultation)
        recompute(consultation.id)
    return consultation.id


def build_rules_world(app) -> RulesWorld:
    w = RulesWorld()
    with app.app_context():
        county, county_b = factory.county("甲县"), factory.county("乙县")
        community, community_b = (
            factory.community(county, "甲社区"),
            factory.community(county_b, "乙社区"),
        )
        estate = factory.estate(community, "甲小区")
        estate_a2 = factory.estate(community, "甲二小区")
        estate_b = factory.estate(community_b, "乙小区")
        h = [
            factory.household(estate, room, owner_name=name, area=area)
            for room, name, area in (
                ("101", "张伟", "80.00"),
                ("102", "王芳", "90.00"),
                ("103", "李娜", "75.50"),
                ("104", "赵敏", "100.00"),
            )
        ]
        g = [
            factory.household(estate_a2, room, owner_name=name, area="60.00")
            for room, name in (("201", "刘强"), ("202", "陈静"))
        ]
        b0 = factory.household(estate_b, "101", owner_name="周杰", area="70.00")
        residents = {
            "resident_in": factory.member("openid-rules-in", "张伟", h[0]),
            "owner1": factory.member("openid-rules-o1", "王芳", h[1]),
            "owner2": factory.member("openid-rules-o2", "李娜", h[2]),
            "owner3": factory.member("openid-rules-o3", "赵敏", h[3]),
            "tenant": factory.member("openid-rules-tenant", "孙丽", h[1], relation="tenant"),
            "a2_0": factory.member("openid-rules-g0", "刘强", g[0]),
            "a2_1": factory.member("openid-rules-g1", "陈静", g[1]),
            "resident_out": factory.member("openid-rules-out", "周杰", b0),
        }
        project = factory.project(county, [estate, estate_a2], "甲片区改造")
        other_project = factory.project(county_b, [estate_b], "乙小区改造")
        staff = {
            "clerk": factory.staff("rules-clerk", ("committee", community.id)),
            "clerk_out": factory.staff("rules-clerk-b", ("committee", community_b.id)),
            "county": factory.staff("rules-county", ("county", county.id)),
            "county_out": factory.staff("rules-county-b", ("county", county_b.id)),
            "prefecture": factory.staff("rules-prefecture", ("prefecture", None)),
            "owner": factory.staff("rules-owner", ("owner", project.id)),
        }
        plan = factory.plan(project, staff["owner"])
        db.session.flush()

        ids = {name: r.id for name, r in residents.items()}
        a_owners = [ids[n] for n in ("resident_in", "owner1", "owner2", "owner3")]
        a2_owners = [ids["a2_0"], ids["a2_1"]]
        clerk = staff["clerk"]

        def all_(choice_a, choice_a2):
            return {**dict.fromkeys(a_owners, choice_a), **dict.fromkeys(a2_owners, choice_a2)}

        estate_row = db.session.get(Estate, estate.id)
        v1 = estate_rules.create(estate_row, clerk, {"title": "甲小区管理办法", "body": "第一条"})
        estate_rules.publish(v1, None)
        v2 = estate_rules.create(
            estate_row, clerk, {"title": "甲小区管理办法（修订）", "body": "第一条 修订"}
        )
        estate_rules.publish(v2, None)
        v3 = estate_rules.create(estate_row, clerk, {"title": "草稿", "body": "尚未公示"})
        # The decisions are drawn up after the versions they decide were published.
        m = estate_rules.MATTER
        d = w.decisions
        d["passed_1"] = decide(project, clerk, all_("agree", "agree"), matter=m)
        d["passed_2"] = decide(project, clerk, all_("agree", "agree"), matter=m)
        d["mixed"] = decide(project, clerk, all_("disagree", "agree"), matter=m)
        d["failed"] = decide(project, clerk, all_("disagree", "disagree"), matter=m)
        d["open"] = decide(project, clerk, {}, matter=m, state="open")
        d["draft"] = decide(project, clerk, {}, matter=m, state="draft")
        d["wrong_matter"] = decide(
            project, clerk, all_("agree", "agree"), matter="use_maintenance_fund"
        )
        d["satisfaction"] = consultations.create_consultation(
            project, clerk, {"kind": "plan_satisfaction", "plan_id": plan.id}
        ).id
        d["other_project"] = decide(
            other_project,
            staff["clerk_out"],
            {ids["resident_out"]: "agree"},
            matter=m,
        )

        estate_rules.link_decision(v1, d["passed_1"])
        estate_rules.record_result(v1)
        visible = RulesComment(
            rules_id=v2.id,
            author_id=ids["resident_in"],
            body="建议增加停车管理条款",
            status="visible",
        )
        hidden = RulesComment(
            rules_id=v2.id,
            author_id=ids["owner1"],
            body="广告内容",
            status="hidden",
            status_reason="广告",
        )
        db.session.add_all([visible, hidden])
        db.session.commit()

        w.estate, w.estate_a2, w.estate_b = estate.id, estate_a2.id, estate_b.id
        w.project, w.other_project = project.id, other_project.id
        w.adopted, w.published, w.draft = v1.id, v2.id, v3.id
        w.comment, w.hidden_comment = visible.id, hidden.id
        callers = {"anonymous": None, **residents, **staff}
        with app.test_request_context():
            w.headers = {actor: factory.headers(who) for actor, who in callers.items()}
        w.callers = {actor: (who.id if who else None) for actor, who in callers.items()}
        db.session.remove()
    return w


def rules_row(app, rules_id: int) -> dict:
    with app.app_context():
        rules = db.session.get(EstateRules, rules_id)
        return {c.name: getattr(rules, c.name) for c in EstateRules.__table__.columns}


def decide_after(app, w: RulesWorld, choice_a: str = "agree", choice_a2: str = "agree") -> int:
    """A new owners' decision on 管理规约 of the world's project P, closed and counted, with
    estate A's owners voting `choice_a` and A2's `choice_a2`: drawn up now, so after any version
    published so far (a decision drawn up before a version was published does not decide it)."""
    with app.app_context():
        votes = {
            **{w.callers[n]: choice_a for n in ("resident_in", "owner1", "owner2", "owner3")},
            **{w.callers[n]: choice_a2 for n in ("a2_0", "a2_1")},
        }
        project = db.session.get(Project, w.project)
        clerk = db.session.get(Staff, w.callers["clerk"])
        cid = decide(project, clerk, votes, matter=estate_rules.MATTER)
        db.session.commit()
        db.session.remove()
        return cid
