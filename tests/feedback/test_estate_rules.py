"""Estate management rules (小区管理办法, issue 15 item 6): the committee drafts and publishes a
version, residents comment through WeChat's content check, an owners' decision on 管理规约
adopts it, and the adopted rules are shown to the estate's residents with their date and the
decision's result. A version is adopted only by a final decision on that matter, of a project
covering the estate, in which this estate passed (tests/feedback/rules_world.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from api.core import LOCAL, db, utcnow
from feedback import jobs
from feedback.models.estate_rules import EstateRules, RulesComment
from notices.models import Notice
from participation.models import Household
from tests.feedback.rules_world import build_rules_world, decide_after, rules_row
from tests.support.feedback_world import assert_error_shape, refused, set_columns, snapshot

R = "/api/v1/estate-rules"


@pytest.fixture(scope="module")
def world(app, module_transaction):
    return build_rules_world(app)


def _new_published(client, w, title="第三版", **publish):
    """A new version of estate A, published by the clerk: its reply."""
    h = w.headers["clerk"]
    created = client.post(
        f"/api/v1/estates/{w.estate}/rules", json={"title": title, "body": "条文"}, headers=h
    )
    assert created.status_code == 201, created.json
    published = client.post(f"{R}/{created.json['id']}/publish", json=publish, headers=h)
    assert published.status_code == 200, published.json
    return published.json


# --- the flow --------------------------------------------------------------------------------


def test_the_committee_drafts_publishes_residents_comment_and_the_owners_adopt(
    app, client, wechat, world
):
    w = world
    clerk, resident = w.headers["clerk"], w.headers["resident_in"]

    created = client.post(
        f"/api/v1/estates/{w.estate}/rules",
        json={"title": "  甲小区管理办法（2027）  ", "body": "第一条 总则"},
        headers=clerk,
    )
    assert created.status_code == 201, created.json
    draft = created.json
    assert (draft["version"], draft["status"], draft["status_label"]) == (4, "draft", "草稿")
    assert draft["title"] == "甲小区管理办法（2027）"

    # Residents do not see a draft, even by its id.
    listed = client.get(f"/api/v1/estates/{w.estate}/rules", headers=resident).json
    assert draft["id"] not in [r["id"] for r in listed["items"]]
    assert client.get(f"{R}/{draft['id']}", headers=resident).status_code == 404

    patched = client.patch(
        f"{R}/{draft['id']}", json={"body": "第一条 总则（修改）"}, headers=clerk
    )
    assert patched.status_code == 200 and patched.json["body"] == "第一条 总则（修改）"

    close_at = (utcnow() + timedelta(days=14)).isoformat()
    published = client.post(
        f"{R}/{draft['id']}/publish", json={"comments_close_at": close_at}, headers=clerk
    )
    assert published.status_code == 200, published.json
    assert published.json["status"] == "published" and published.json["comments_open"]
    # The estate's households are told (a notice to the estate).
    with app.app_context():
        notice = db.session.scalar(
            select(Notice).where(Notice.event_key == f"estate-rules-published:{draft['id']}")
        )
        assert notice is not None and notice.estate_id == w.estate
        assert notice.status == "published"

    # Once published, a version never changes.
    again = client.patch(f"{R}/{draft['id']}", json={"title": "改"}, headers=clerk)
    assert_error_shape(again, 409, "rules_not_draft")

    # A resident (a tenant too) comments; WeChat checks the text first.
    comment = client.post(
        f"{R}/{draft['id']}/comments", json={"body": "建议明确电动车停放区域"}, headers=resident
    )
    assert comment.status_code == 201, comment.json
    assert comment.json["status"] == "visible" and comment.json["mine"] is True
    assert comment.json["author"] == "张*"
    assert wechat.checked == ["建议明确电动车停放区域"]
    tenant = client.post(
        f"{R}/{draft['id']}/comments", json={"body": "租户也关心"}, headers=w.headers["tenant"]
    )
    assert tenant.status_code == 201

    replied = client.post(
        f"{R}/comments/{comment.json['id']}/reply", json={"body": "已采纳，将补充"}, headers=clerk
    )
    assert replied.status_code == 200 and replied.json["reply"] == "已采纳，将补充"
    # Another resident sees the comment and its answer, masked.
    seen = client.get(f"{R}/{draft['id']}/comments", headers=w.headers["owner1"]).json
    mine = next(c for c in seen["items"] if c["id"] == comment.json["id"])
    assert (mine["author"], mine["mine"], mine["reply"]) == ("张*", False, "已采纳，将补充")
    assert mine["status_reason"] is None

    # A decision drawn up before this version was published was about another text.
    before = snapshot(app)
    early = client.put(
        f"{R}/{draft['id']}/decision",
        json={"consultation_id": w.decisions["passed_2"]},
        headers=clerk,
    )
    refused(app, before, early, 409, "decision_before_publication")
    decision = decide_after(app, w)
    linked = client.put(
        f"{R}/{draft['id']}/decision",
        json={"consultation_id": decision},
        headers=clerk,
    )
    assert linked.status_code == 200, linked.json
    assert linked.json["decision"] == {
        "id": decision,
        "title": "业主共同决定（management_statute）",
        "status": "closed",
        "status_label": "已结束",
        "final": True,
        "passed_here": True,
    }
    result = client.post(f"{R}/{draft['id']}/result", headers=clerk)
    assert result.status_code == 200, result.json
    assert result.json["status"] == "adopted" and result.json["decided_at"]
    figures = result.json["result"]
    assert figures["passed"] is True and figures["rule"] == "majority"
    assert figures["rule_label"] == "过半数同意"
    assert (figures["eligible_owners"], figures["voted_owners"], figures["agreeing_owners"]) == (
        4,
        4,
        4,
    )
    assert figures["agree_area_share"] == 1.0 and figures["agree_owner_share"] == 1.0
    assert figures["disagree_area_share"] == 0.0
    assert figures["voted_area"] == 345.5  # the estate's own area, not A2's

    # The version adopted before is superseded; the new one is in force.
    assert rules_row(app, w.adopted)["superseded_at"] is not None
    current = client.get(f"/api/v1/estates/{w.estate}/rules/current", headers=resident)
    assert current.status_code == 200, current.json
    assert current.json["id"] == draft["id"] and current.json["version"] == 4
    decided = datetime.fromisoformat(result.json["decided_at"]).astimezone(LOCAL)
    assert current.json["adopted_on"] == decided.date().isoformat()
    assert current.json["result"]["title"] == "业主共同决定（management_statute）"
    # Comments close with the decision.
    late = client.post(f"{R}/{draft['id']}/comments", json={"body": "还有意见"}, headers=resident)
    assert_error_shape(late, 409, "comments_closed")


def test_the_rules_in_force_before_any_new_version(client, world):
    w = world
    current = client.get(f"/api/v1/estates/{w.estate}/rules/current", headers=w.headers["tenant"])
    assert current.status_code == 200
    assert current.json["id"] == w.adopted and current.json["status"] == "adopted"
    assert current.json["result"]["passed"] is True
    none = client.get(f"/api/v1/estates/{w.estate_a2}/rules/current", headers=w.headers["clerk"])
    assert_error_shape(none, 404, "no_rules_in_force")


def test_residents_read_published_adopted_and_rejected_versions_only(app, client, world):
    w = world
    withdrawn = _new_published(client, w, "将撤回")
    gone = client.post(f"{R}/{withdrawn['id']}/withdraw", headers=w.headers["clerk"])
    assert gone.status_code == 200 and gone.json["status"] == "withdrawn"
    staff = client.get(f"/api/v1/estates/{w.estate}/rules", headers=w.headers["county"]).json
    assert [r["version"] for r in staff["items"]] == [4, 3, 2, 1]
    residents = client.get(f"/api/v1/estates/{w.estate}/rules", headers=w.headers["tenant"]).json
    assert [(r["version"], r["status"]) for r in residents["items"]] == [
        (2, "published"),
        (1, "adopted"),
    ]
    assert client.get(f"{R}/{withdrawn['id']}", headers=w.headers["tenant"]).status_code == 404
    # Withdrawing twice, or a draft: 409.
    assert_error_shape(
        client.post(f"{R}/{withdrawn['id']}/withdraw", headers=w.headers["clerk"]),
        409,
        "rules_not_published",
    )
    assert_error_shape(
        client.post(f"{R}/{w.draft}/withdraw", headers=w.headers["clerk"]),
        409,
        "rules_not_published",
    )


# --- no adoption without a passed decision ---------------------------------------------------


@pytest.mark.parametrize(
    ("decision", "status", "code"),
    [
        ("draft", 409, "decision_not_final"),
        ("open", 409, "decision_not_final"),
        ("wrong_matter", 422, "decision_wrong_matter"),
        ("satisfaction", 422, "not_owners_decision"),
        ("other_project", 422, "decision_not_for_estate"),
    ],
)
def test_rules_are_not_adopted_without_a_final_decision_on_the_matter(
    app, client, world, decision, status, code
):
    w = world
    clerk = w.headers["clerk"]
    linked = client.put(
        f"{R}/{w.published}/decision",
        json={"consultation_id": w.decisions[decision]},
        headers=clerk,
    )
    if status == 422:
        before = snapshot(app)
        refused(app, before, linked, 422, code)
        # Nothing linked: the result cannot be recorded either.
        refused(app, before, client.post(f"{R}/{w.published}/result", headers=clerk), 409)
    else:
        assert linked.status_code == 200, linked.json
        before = snapshot(app)
        refused(app, before, client.post(f"{R}/{w.published}/result", headers=clerk), 409, code)
    assert rules_row(app, w.published)["status"] == "published"
    current = client.get(f"/api/v1/estates/{w.estate}/rules/current", headers=clerk)
    assert current.json["id"] == w.adopted


@pytest.mark.parametrize("decision", ["failed", "mixed"])
def test_a_decision_this_estate_failed_rejects_the_version(app, client, world, decision):
    """Failed everywhere, or failed in this estate while the other estate of the project
    passed: the version is rejected, and the rules in force stay as they were."""
    w = world
    clerk = w.headers["clerk"]
    cid = w.decisions[decision]
    assert (
        client.put(
            f"{R}/{w.published}/decision", json={"consultation_id": cid}, headers=clerk
        ).status_code
        == 200
    )
    if decision == "mixed":
        linked = client.get(f"{R}/{w.published}", headers=clerk).json
        assert linked["decision"]["final"] is True and linked["decision"]["passed_here"] is False
    result = client.post(f"{R}/{w.published}/result", headers=clerk)
    assert result.status_code == 200, result.json
    assert result.json["status"] == "rejected"
    assert result.json["result"]["passed"] is False
    assert result.json["result"]["agree_owner_share"] == 0.0
    assert result.json["result"]["disagree_area_share"] == 1.0
    assert rules_row(app, w.adopted)["superseded_at"] is None
    current = client.get(f"/api/v1/estates/{w.estate}/rules/current", headers=clerk)
    assert current.json["id"] == w.adopted
    # Residents still read the rejected version, and the result cannot be recorded twice.
    assert client.get(f"{R}/{w.published}", headers=w.headers["resident_in"]).status_code == 200
    assert_error_shape(
        client.post(f"{R}/{w.published}/result", headers=clerk), 409, "rules_not_published"
    )


def test_the_mixed_decision_adopts_the_other_estates_version(app, client, world):
    """The same decision, read for estate A2 (which passed), adopts A2's version."""
    w = world
    clerk = w.headers["clerk"]
    created = client.post(
        f"/api/v1/estates/{w.estate_a2}/rules",
        json={"title": "甲二", "body": "条文"},
        headers=clerk,
    ).json
    assert created["version"] == 1
    client.post(f"{R}/{created['id']}/publish", json={}, headers=clerk)
    mixed = decide_after(app, w, "disagree", "agree")
    client.put(
        f"{R}/{created['id']}/decision",
        json={"consultation_id": mixed},
        headers=clerk,
    )
    result = client.post(f"{R}/{created['id']}/result", headers=clerk).json
    assert result["status"] == "adopted"
    assert result["result"]["voted_area"] == 120.0


def test_a_decision_that_decided_one_version_cannot_adopt_another(app, client, world):
    w = world
    before = snapshot(app)
    reply = client.put(
        f"{R}/{w.published}/decision",
        json={"consultation_id": w.decisions["passed_1"]},
        headers=w.headers["clerk"],
    )
    refused(app, before, reply, 409, "decision_already_used")


def test_a_draft_is_not_decided_nor_decision_linked(app, client, world):
    w = world
    clerk = w.headers["clerk"]
    before = snapshot(app)
    reply = client.put(
        f"{R}/{w.draft}/decision", json={"consultation_id": w.decisions["passed_2"]}, headers=clerk
    )
    refused(app, before, reply, 409, "rules_not_published")
    refused(app, before, client.post(f"{R}/{w.draft}/result", headers=clerk), 409)
    refused(
        app,
        before,
        client.post(f"{R}/{w.published}/result", headers=clerk),
        409,
        "decision_missing",
    )


# --- comments --------------------------------------------------------------------------------


def test_risky_text_is_refused_and_nothing_is_stored(app, client, wechat, world):
    w = world
    wechat.suggest_for["违禁内容"] = "risky"
    before = snapshot(app)
    reply = client.post(
        f"{R}/{w.published}/comments", json={"body": "违禁内容"}, headers=w.headers["resident_in"]
    )
    refused(app, before, reply, 422, "content_risky")


def test_held_and_unchecked_comments_are_seen_by_their_author_and_staff_only(
    app, client, wechat, world
):
    w = world
    wechat.suggest_for["待复核的意见"] = "review"
    held = client.post(
        f"{R}/{w.published}/comments", json={"body": "待复核的意见"}, headers=w.headers["tenant"]
    )
    assert held.status_code == 201 and held.json["status"] == "pending_review"
    wechat.down = True
    unchecked = client.post(
        f"{R}/{w.published}/comments", json={"body": "微信不可用时"}, headers=w.headers["tenant"]
    )
    wechat.down = False
    assert unchecked.status_code == 201 and unchecked.json["status"] == "pending_check"

    def ids(actor):
        reply = client.get(f"{R}/{w.published}/comments", headers=w.headers[actor])
        assert reply.status_code == 200, reply.json
        return {c["id"]: c for c in reply.json["items"]}

    author = ids("tenant")
    assert held.json["id"] in author and unchecked.json["id"] in author
    other = ids("resident_in")
    assert set(other) == {w.comment}
    staff = ids("clerk")
    assert set(staff) == {w.comment, w.hidden_comment, held.json["id"], unchecked.json["id"]}
    assert staff[w.hidden_comment]["status_reason"] == "广告"
    # Unchecked text is never shown by hand; held text may be.
    assert_error_shape(
        client.post(
            f"{R}/comments/{unchecked.json['id']}/restore",
            json={"reason": "看过了"},
            headers=w.headers["clerk"],
        ),
        409,
        "comment_not_restorable",
    )
    shown = client.post(
        f"{R}/comments/{held.json['id']}/restore",
        json={"reason": "无不当内容"},
        headers=w.headers["clerk"],
    )
    assert shown.status_code == 200 and shown.json["status"] == "visible"
    assert held.json["id"] in ids("resident_in")


def test_hide_and_restore_and_reply_only_to_visible_comments(app, client, world):
    w = world
    clerk = w.headers["clerk"]
    hidden = client.post(f"{R}/comments/{w.comment}/hide", json={"reason": "重复"}, headers=clerk)
    assert hidden.status_code == 200 and hidden.json["status"] == "hidden"
    assert client.get(f"{R}/{w.published}/comments", headers=w.headers["tenant"]).json["total"] == 0
    # Its author still sees it.
    assert (
        client.get(f"{R}/{w.published}/comments", headers=w.headers["resident_in"]).json["total"]
        == 1
    )
    assert_error_shape(
        client.post(f"{R}/comments/{w.comment}/reply", json={"body": "答复"}, headers=clerk),
        409,
        "comment_not_visible",
    )
    assert_error_shape(
        client.post(f"{R}/comments/{w.comment}/hide", json={"reason": "再隐藏"}, headers=clerk),
        409,
        "comment_not_hideable",
    )
    restored = client.post(
        f"{R}/comments/{w.comment}/restore", json={"reason": "复核"}, headers=clerk
    )
    assert restored.json["status"] == "visible"


def test_comments_close_at_their_time(app, client, world):
    w = world
    set_columns(app, EstateRules, w.published, comments_close_at=utcnow() - timedelta(minutes=1))
    before = snapshot(app)
    reply = client.post(
        f"{R}/{w.published}/comments", json={"body": "晚了"}, headers=w.headers["resident_in"]
    )
    refused(app, before, reply, 409, "comments_closed")
    assert (
        client.get(f"{R}/{w.published}", headers=w.headers["clerk"]).json["comments_open"] is False
    )


def test_a_close_time_in_the_past_is_refused(app, client, world):
    w = world
    before = snapshot(app)
    reply = client.post(
        f"{R}/{w.draft}/publish",
        json={"comments_close_at": (utcnow() - timedelta(hours=1)).isoformat()},
        headers=w.headers["clerk"],
    )
    refused(app, before, reply, 422, "comments_close_past")


def test_versions_are_numbered_per_estate(app, client, world):
    w = world
    a = client.post(
        f"/api/v1/estates/{w.estate}/rules",
        json={"title": "t", "body": "b"},
        headers=w.headers["county"],
    ).json
    b = client.post(
        f"/api/v1/estates/{w.estate_a2}/rules",
        json={"title": "t", "body": "b"},
        headers=w.headers["prefecture"],
    ).json
    assert (a["version"], b["version"]) == (4, 1)
    # A comment names the household its author lives in, in this estate.
    posted = client.post(
        f"{R}/{w.published}/comments", json={"body": "意见"}, headers=w.headers["tenant"]
    ).json
    with app.app_context():
        comment = db.session.get(RulesComment, posted["id"])
        household = db.session.get(Household, comment.household_id)
        assert (household.estate_id, household.room) == (w.estate, "102")


def test_an_erased_residents_comments_stay_without_their_author(app, client, wechat, world):
    """DELETE /me: the comments stay (shown as 已注销用户); one WeChat never checked goes to
    the committee's review, since WeChat checks a text only with its author's openid. The
    export lists the resident's comments before."""
    w = world
    headers = w.headers["tenant"]
    wechat.down = True
    waiting = client.post(f"{R}/{w.published}/comments", json={"body": "未检测"}, headers=headers)
    wechat.down = False
    assert waiting.status_code == 201 and waiting.json["status"] == "pending_check"
    exported = client.get("/api/v1/me/export", headers=headers).json["rules_comments"]
    assert [(c["id"], c["version"], c["status_label"]) for c in exported] == [
        (waiting.json["id"], 2, "待审核")
    ]
    assert client.delete("/api/v1/me", headers=headers).status_code == 204
    listed = client.get(f"{R}/{w.published}/comments", headers=w.headers["clerk"]).json["items"]
    erased = next(c for c in listed if c["id"] == waiting.json["id"])
    assert (erased["author"], erased["status"]) == ("已注销用户", "pending_review")


def test_a_comment_wechat_could_not_check_is_checked_by_the_reconciler(app, client, wechat, world):
    w = world
    wechat.down = True
    posted = client.post(
        f"{R}/{w.published}/comments", json={"body": "稍后检测"}, headers=w.headers["resident_in"]
    ).json
    assert posted["status"] == "pending_check"
    with app.app_context():
        assert jobs.reconcile()["rules_waiting"] == 1  # WeChat still down: it keeps waiting
    wechat.down = False
    with app.app_context():
        done = jobs.reconcile()
    assert done["rules_rechecked"] == [posted["id"]] and done["rules_waiting"] == 0
    seen = client.get(f"{R}/{w.published}/comments", headers=w.headers["tenant"]).json["items"]
    assert posted["id"] in [c["id"] for c in seen]
    with app.app_context():
        assert db.session.get(RulesComment, posted["id"]).check_attempts == 3
