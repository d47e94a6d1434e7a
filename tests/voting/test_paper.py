"""Paper and assisted ballots in the open (issue 10, item 7; loophole 7), and the staff uploads
that carry their evidence.

A clerk's paper or assisted ballot names a photo of the signed form that the clerk uploaded to
the project (never a bare URL, never someone else's upload); when it replaces the household's
WeChat ballot, the household's members get a notice saying so (never the choice); paper ballots
count like any other; and the turnout shows each ballot's channel and day, never its time.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update

from api.core import db, local_today
from devtools import factory
from feedback.models import Upload
from notices.models import Notice
from participation.models import Estate
from tests.support.feedback_world import JPEG, PDF, multipart, upload_files
from tests.support.notices_helpers import consent, deliveries, targeted_households
from tests.support.voting_helpers import evidence_upload, resident, run_jobs
from tests.support.voting_world import (
    World,
    assert_error_shape,
    build_world,
    consultation_in,
    diff,
    put_ballot,
    snapshot,
)
from voting.models import Ballot, BallotChange

CHOICE_WORDS = ("satisfied", "unsatisfied", "abstain", "满意", "不满意", "弃权")


@pytest.fixture(scope="module")
def world(app, module_make) -> World:
    """The voting world (tests/support/voting_world.py), built once; each test rolls back."""
    return build_world(app, module_make)


def _paper(client, w: World, cid: int, household: int, who: str = "clerk", **extra):
    body = {
        "household_id": w.scene.household_ids[household],
        "choice": "satisfied",
        "evidence_upload_id": w.uploads[who],
        **extra,
    }
    return client.post(
        f"/api/v1/consultations/{cid}/paper-ballots", json=body, headers=w.headers[who]
    )


def _replaced_notices(app) -> list[Notice]:
    with app.app_context():
        rows = db.session.scalars(
            select(Notice).where(Notice.category == "ballot_replaced").order_by(Notice.id)
        ).all()
        db.session.expunge_all()
        return rows


# --- loophole 7: a paper ballot no longer overrides silently --------------------------------


def test_loophole_7_a_paper_ballot_replacing_a_wechat_ballot_tells_the_household(
    app, client, make, world, wechat
):
    w = world
    member = w.callers["resident_member"]  # the member of household 0
    cid = consultation_in(app, client, w, "open")
    consent(app, member)  # after the opening's own notice
    assert put_ballot(client, w.members[0], cid, choice="unsatisfied").status_code == 200
    run_jobs(app)

    recorded = _paper(client, w, cid, 0, evidence_note="入户收回的纸质表决票，第12号")
    assert recorded.status_code == 201, recorded.get_json()
    run_jobs(app)

    [notice] = _replaced_notices(app)
    household = w.scene.household_ids[0]
    assert notice.event_key == f"ballot-replaced:{cid}:{household}:2"
    assert notice.status == "published" and notice.author_id is None
    assert targeted_households(app, notice.id) == {household}
    assert set(deliveries(app, notice.id)) == {member.id}
    assert "纸质选票" in notice.body and "微信" in notice.body and "居委会" in notice.body
    assert "测试社区居委会" in notice.body  # whom to ask
    # Never the choice (the consultation's own title, 方案满意度征询, aside).
    title = client.get(f"/api/v1/consultations/{cid}", headers=w.headers["clerk"]).json["title"]
    assert title in notice.title and title in notice.body
    said = (notice.body + notice.title).replace(title, "")
    assert not any(word in said for word in CHOICE_WORDS), said
    # The member's WeChat hears of it; nobody else does.
    assert [m["touser"] for m in wechat.messages] == [member.openid]
    assert wechat.messages[0]["data"]["thing3"] == {"value": "选票变更提醒"}
    mine = client.get("/api/v1/notices", headers=w.members[0]).get_json()["items"]
    assert notice.id in [n["id"] for n in mine]
    neighbour = client.get("/api/v1/notices", headers=w.members[1]).get_json()["items"]
    assert notice.id not in [n["id"] for n in neighbour]
    assert client.get(f"/api/v1/notices/{notice.id}", headers=w.members[1]).status_code == 404

    # The evidence and the note are in the audit trail, with the clerk's identity.
    with app.app_context():
        change = db.session.scalar(
            select(BallotChange).where(
                BallotChange.household_id == household, BallotChange.revision == 2
            )
        )
        assert change.channel == "paper" and change.staff_id == w.callers["clerk"].id
        assert change.evidence_upload_id == w.uploads["clerk"]
        assert change.evidence_note == "入户收回的纸质表决票，第12号"
        assert change.evidence_url is None


def test_loophole_7_one_notice_per_replacement_of_a_wechat_ballot(app, client, make, world):
    """A paper ballot replacing a paper ballot tells nobody again; a WeChat ballot cast after
    it and replaced again on paper is a new change with a notice of its own."""
    w = world
    cid = consultation_in(app, client, w, "open")
    assert put_ballot(client, w.members[0], cid, choice="satisfied").status_code == 200
    assert _paper(client, w, cid, 0).status_code == 201  # revision 2: replaces WeChat
    assert _paper(client, w, cid, 0, choice="abstain").status_code == 201  # 3: paper
    assert put_ballot(client, w.members[0], cid, choice="satisfied").status_code == 200  # 4
    assisted = _paper(client, w, cid, 0, "county_officer", channel="assisted", assisted_by="女儿")
    assert assisted.status_code == 201  # 5: replaces WeChat again
    run_jobs(app)
    household = w.scene.household_ids[0]
    notices = _replaced_notices(app)
    assert [n.event_key for n in notices] == [
        f"ballot-replaced:{cid}:{household}:2",
        f"ballot-replaced:{cid}:{household}:5",
    ]
    assert "协助投票" in notices[1].body


def test_loophole_7_a_paper_ballot_for_a_household_that_had_not_voted_sends_no_notice(
    app, client, make, world, wechat
):
    w = world
    cid = consultation_in(app, client, w, "open")
    consent(app, resident(app, w.scene.resident_ids[1]))
    assert put_ballot(client, w.members[0], cid, choice="satisfied").status_code == 200
    assert _paper(client, w, cid, 1).status_code == 201
    run_jobs(app)
    assert _replaced_notices(app) == []
    assert wechat.messages == []


# --- loophole 7: paper ballots are counted --------------------------------------------------


def test_loophole_7_paper_ballots_are_counted_and_pass_the_gate(app, client, make, world):
    """9 of 10 households vote on paper (satisfied), 1 on WeChat (unsatisfied): every household
    has voted, so the clerk may close at once; the final tally counts all ten, 90% satisfied,
    and the gate passes on the paper ballots."""
    w = world
    with app.app_context():  # the world's 4 households, and 6 more in 2栋
        estate = db.session.get(Estate, w.scene.estate_id)
        more = factory.households(estate, factory.building(estate, "2栋"), 6)
        [online_member] = factory.members(more[-1:], w.scene.community_id)
        db.session.commit()
    households = w.scene.household_ids + more
    clerk = w.headers["clerk"]
    cid = consultation_in(app, client, w, "open")
    for household in households[:9]:
        reply = client.post(
            f"/api/v1/consultations/{cid}/paper-ballots",
            json={
                "household_id": household,
                "choice": "satisfied",
                "evidence_upload_id": evidence_upload(  # one photo of each form
                    app, w.project_id, staff_id=w.callers["clerk"].id
                ),
            },
            headers=clerk,
        )
        assert reply.status_code == 201, reply.get_json()
    online = put_ballot(
        client, make.headers(resident(app, online_member)), cid, choice="unsatisfied"
    )
    assert online.status_code == 200, online.get_json()
    closed = client.post(f"/api/v1/consultations/{cid}/close", headers=clerk)
    assert closed.status_code == 200, closed.get_json()
    run_jobs(app)

    tally = client.get(f"/api/v1/consultations/{cid}/tally", headers=clerk).get_json()
    assert tally["final"] is True and tally["passed"] is True, tally
    assert (tally["counted"], tally["eligible"]) == (10, 10)
    assert tally["satisfaction_rate"] == pytest.approx(0.9)
    assert tally["figures"]["by_choice"]["satisfied"]["households"] == 9
    gate = client.get(f"/api/v1/projects/{w.project_id}/gate", headers=clerk).get_json()
    assert gate["passed"] is True and gate["final"] is True, gate
    assert gate["counted"] == 10
    turnout = client.get(f"/api/v1/consultations/{cid}/turnout", headers=clerk).get_json()
    channels = sorted(row["channel"] for row in turnout["items"])
    assert channels == ["paper"] * 9 + ["wechat"]


# --- the turnout: channel and day only ------------------------------------------------------


def test_the_turnout_shows_channels_and_days_never_times(app, client, make, world):
    w = world
    cid = consultation_in(app, client, w, "voted")  # 0, 1 on WeChat; 2 on paper
    assert _paper(client, w, cid, 3, channel="assisted", assisted_by="邻居李四").status_code == 201
    # Household 1's ballot came in at 01:00 on 2 January, Shanghai time (17:00 UTC the day
    # before): its day is the local one.
    with app.app_context():
        db.session.execute(
            update(Ballot)
            .where(Ballot.household_id == w.scene.household_ids[1])
            .values(updated_at=datetime(2026, 1, 1, 17, 0, tzinfo=UTC))
        )
        db.session.commit()
    reply = client.get(f"/api/v1/consultations/{cid}/turnout", headers=w.headers["clerk"])
    assert reply.status_code == 200
    rows = {row["household"][:6]: row for row in reply.get_json()["items"]}
    by_channel = {}
    for row in reply.get_json()["items"]:
        assert set(row) == {
            "receipt",
            "household",
            "channel",
            "channel_label",
            "delegated",
            "voted_on",
        }, row
        assert "T" not in row["voted_on"] and ":" not in row["voted_on"]
        assert row["delegated"] is False
        by_channel.setdefault(row["channel"], []).append(row)
    assert {c: len(r) for c, r in by_channel.items()} == {"wechat": 2, "paper": 1, "assisted": 1}
    assert {r["channel_label"] for r in reply.get_json()["items"]} == {
        "微信投票",
        "纸质选票",
        "协助投票",
    }
    days = sorted(row["voted_on"] for row in reply.get_json()["items"])
    assert days == ["2026-01-02"] + [local_today().isoformat()] * 3
    assert rows  # masked addresses, as before
    # Residents read the same list.
    mine = client.get(f"/api/v1/consultations/{cid}/turnout", headers=w.members[0])
    assert mine.status_code == 200 and "voted_at" not in mine.get_json()["items"][0]


def test_the_turnout_marks_a_delegates_ballot(app, client, make, world):
    w = world
    cid = consultation_in(app, client, w, "voted")
    with app.app_context():
        db.session.execute(
            update(Ballot)
            .where(Ballot.household_id == w.scene.household_ids[0])
            .values(delegated=True)
        )
        db.session.commit()
    rows = client.get(
        f"/api/v1/consultations/{cid}/turnout", headers=w.headers["clerk"]
    ).get_json()["items"]
    assert sorted(row["delegated"] for row in rows) == [False, False, True]


# --- evidence is the clerk's own upload -----------------------------------------------------


def _other_project_upload(app, w: World) -> int:
    return evidence_upload(app, w.other_project_id, staff_id=w.callers["clerk"].id)


EVIDENCE_CASES = [
    # (id, body changes, status, code, field or detail key)
    ("no evidence", {"evidence_upload_id": None}, 422, "invalid", "evidence_upload_id"),
    (
        "a URL instead of an upload",
        {"evidence_upload_id": "https://example.org/paper/1.jpg"},
        422,
        "invalid",
        "evidence_upload_id",
    ),
    (
        "the old evidence_url field",
        {"evidence_url": "https://example.org/paper/1.jpg"},
        422,
        "invalid",
        "evidence_url",
    ),
    ("a string id", {"evidence_upload_id": "12"}, 422, "invalid", "evidence_upload_id"),
    ("id 0", {"evidence_upload_id": 0}, 422, "invalid", "evidence_upload_id"),
    ("a note too long", {"evidence_note": "注" * 201}, 422, "invalid", "evidence_note"),
    ("a blank note", {"evidence_note": "   "}, 422, "invalid", "evidence_note"),
    ("a note that is not text", {"evidence_note": 7}, 422, "invalid", "evidence_note"),
    (
        "another staff member's upload",
        lambda app, w: {"evidence_upload_id": w.uploads["county_officer"]},
        422,
        "upload_invalid",
        None,
    ),
    (
        "a resident's upload",
        lambda app, w: {"evidence_upload_id": w.uploads["resident_member"]},
        422,
        "upload_invalid",
        None,
    ),
    (
        "the clerk's upload of another project",
        lambda app, w: {"evidence_upload_id": _other_project_upload(app, w)},
        422,
        "upload_invalid",
        None,
    ),
    ("an unknown upload", {"evidence_upload_id": 999_999}, 422, "upload_invalid", None),
]


@pytest.mark.parametrize(
    ("changes", "status", "code", "field"),
    [case[1:] for case in EVIDENCE_CASES],
    ids=[case[0] for case in EVIDENCE_CASES],
)
def test_evidence_must_be_the_clerks_own_upload_of_the_project(
    app, client, make, world, changes, status, code, field
):
    w = world
    cid = consultation_in(app, client, w, "open")
    assert put_ballot(client, w.members[3], cid, choice="satisfied").status_code == 200
    run_jobs(app)
    changes = changes(app, w) if callable(changes) else changes
    body = {
        "household_id": w.scene.household_ids[3],
        "choice": "unsatisfied",
        "evidence_upload_id": w.uploads["clerk"],
        **changes,
    }
    body = {k: v for k, v in body.items() if v is not None}
    before = snapshot(app)
    reply = client.post(
        f"/api/v1/consultations/{cid}/paper-ballots", json=body, headers=w.headers["clerk"]
    )
    run_jobs(app)
    error = assert_error_shape(reply, status, code)
    if code == "invalid":
        assert field in error["details"]["fields"], error
    else:
        assert error["details"] == {"evidence_upload_id": [body["evidence_upload_id"]]}, error
    after = snapshot(app)
    assert after == before, f"a refused paper ballot wrote: {diff(before, after)}"
    assert _replaced_notices(app) == []


# --- staff uploads --------------------------------------------------------------------------


def _upload(client, w: World, who: str, project_id: int | None = None, data: bytes = JPEG):
    return client.post(
        f"/api/v1/projects/{project_id or w.project_id}/uploads",
        headers=w.headers[who],
        **multipart(data),
    )


@pytest.mark.parametrize(
    ("actor", "status"),
    [
        ("clerk", 201),
        ("owner", 201),
        ("county_officer", 201),
        ("prefecture", 201),
        ("resident_member", 201),
        ("clerk_other_community", 404),
        ("owner_other_project", 404),
        ("resident_other_estate", 404),
        ("resident_unverified", 404),
        ("anonymous", 401),
    ],
)
def test_who_may_upload_to_a_project(app, client, make, world, actor, status):
    w = world
    before = snapshot(app), upload_files(app)
    reply = _upload(client, w, actor)
    assert reply.status_code == status, reply.get_json()
    if status >= 400:
        assert_error_shape(reply, status)
        if status == 404:
            assert reply.get_json()["error"]["code"] == "project_not_found"
        assert (snapshot(app), upload_files(app)) == before
        return
    with app.app_context():
        upload = db.session.get(Upload, reply.get_json()["id"])
        caller = w.callers[actor]
        if actor.startswith("resident"):
            assert (upload.uploader_id, upload.staff_uploader_id) == (caller.id, None)
        else:
            assert (upload.uploader_id, upload.staff_uploader_id) == (None, caller.id)


def test_a_staff_upload_is_seen_by_staff_who_see_the_project_never_by_residents(
    app, client, make, world
):
    w = world
    made = _upload(client, w, "clerk")
    assert made.status_code == 201, made.get_json()
    url = made.get_json()["url"]
    expected = {
        "clerk": 200,
        "owner": 200,
        "county_officer": 200,
        "prefecture": 200,
        "clerk_other_community": 404,
        "owner_other_project": 404,
        "resident_member": 404,  # a paper ballot's form shows a household's choice
        "resident_other_estate": 404,
        "resident_unverified": 404,
        "anonymous": 401,
    }
    for actor, status in expected.items():
        reply = client.get(url, headers=w.headers[actor])
        assert reply.status_code == status, (actor, reply.status_code)
        if status == 200:
            assert reply.data == JPEG and reply.mimetype == "image/jpeg"
        else:
            assert_error_shape(reply, status)
        reply.close()  # the file send_file opened
    # Every household member, even the one whose form it is.
    for headers in w.members:
        assert client.get(url, headers=headers).status_code == 404


@pytest.mark.parametrize(
    ("request_kwargs", "status", "code"),
    [
        (multipart(PDF, "form.pdf", "application/pdf"), 422, "file_type_unsupported"),
        (multipart(b"", "empty.jpg"), 422, "file_empty"),
        ({"data": {}, "content_type": "multipart/form-data"}, 422, "invalid"),
        ({"json": {"file": "https://example.org/paper.jpg"}}, 422, None),
    ],
    ids=["a PDF", "an empty file", "no file", "a URL as JSON"],
)
def test_bad_staff_uploads_are_refused_and_store_nothing(
    app, client, make, world, request_kwargs, status, code
):
    w = world
    before = snapshot(app), upload_files(app)
    reply = client.post(
        f"/api/v1/projects/{w.project_id}/uploads", headers=w.headers["clerk"], **request_kwargs
    )
    error = assert_error_shape(reply)
    assert reply.status_code in ((status,) if code else (status, 415)), reply.get_json()
    if code:
        assert error["code"] == code, error
    assert (snapshot(app), upload_files(app)) == before


def test_a_staff_upload_of_an_unknown_project_is_404(app, client, make, world):
    w = world
    before = snapshot(app), upload_files(app)
    reply = _upload(client, w, "prefecture", project_id=999_999)
    assert_error_shape(reply, 404, "project_not_found")
    assert (snapshot(app), upload_files(app)) == before
