"""A project's timeline (GET /projects/{id}/timeline, issue 12, the project detail screen): its
lifecycle transitions, plan versions, milestones (met, or due, overdue flagged), consultations
opened and closed (or closing), and progress updates, oldest first, paged, for whoever sees the
project; to anyone else the project does not exist.

The world is tests/support/feedback_world.py, its `construction` project given a history below.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from api.core import LOCAL, db, labels, local_today, utcnow
from devtools import factory
from participation.models import Plan, Project, ProjectTransition
from tests.support.feedback_world import (
    JPEG,
    RESIDENTS_IN,
    STAFF_IN,
    World,
    assert_error_shape,
    build_world,
    multipart,
    refused,
    snapshot,
)
from voting.models import Consultation

DAY = timedelta(days=1)


@pytest.fixture(scope="module")
def world(app, module_transaction) -> World:
    """The world with a history for `construction` (days relative to now):

    -100 reserve → annual plan, -90 → consulting, -70 plan version 1, -65 a consultation opens,
    -50 preparation met (10 days late), -48 the consultation closes, -45 approval met (on time),
    -44 → approved, -30 → construction, -10 works due (not met: overdue), -5 a second
    consultation opens, closing at +10; +30 acceptance due. A draft consultation is no event.
    """
    w = build_world(app)
    now, today = utcnow(), local_today()
    with app.app_context():
        owner = w.callers["owner"]
        for days, before, after in (
            (100, "reserve", "annual_plan"),
            (90, "annual_plan", "consulting"),
            (44, "consulting", "approved"),
            (30, "approved", "construction"),
        ):
            db.session.add(
                ProjectTransition(
                    project_id=w.construction,
                    from_status=before,
                    to_status=after,
                    staff_id=owner,
                    at=now - days * DAY,
                )
            )
        db.session.get(Plan, w.plan).created_at = now - 70 * DAY
        project = db.session.get(Project, w.construction)
        milestones = {
            m.kind: m
            for m in factory.milestones(
                project,
                {
                    "preparation": today - 60 * DAY,
                    "approval_and_start": today - 40 * DAY,
                    "works_finished": today - 10 * DAY,
                    "completion_acceptance": today + 30 * DAY,
                },
            )
        }
        milestones["preparation"].done_on = today - 50 * DAY
        milestones["approval_and_start"].done_on = today - 45 * DAY
        common = {"project_id": w.construction, "kind": "plan_satisfaction", "created_by_id": owner}
        db.session.add_all(
            [
                Consultation(
                    **common,
                    plan_id=w.plan,
                    title="改造方案第一次征询",
                    status="closed",
                    opened_at=now - 65 * DAY,
                    closes_at=now - 48 * DAY,
                    closed_at=now - 48 * DAY,
                ),
                Consultation(
                    **common,
                    plan_id=w.plan,
                    title="改造方案第二次征询",
                    status="open",
                    opened_at=now - 5 * DAY,
                    closes_at=now + 10 * DAY,
                ),
                Consultation(**common, title="尚未开始的征询", status="draft"),
            ]
        )
        db.session.commit()
    return w


EXPECTED = [
    ("transition", "项目进入「列入年度计划」阶段"),
    ("transition", "项目进入「征求居民意见」阶段"),
    ("plan_version", "改造方案第1版"),
    ("consultation_opened", "改造方案第一次征询"),
    ("milestone_done", labels.MILESTONES["preparation"]),
    ("consultation_closed", "改造方案第一次征询"),
    ("milestone_done", labels.MILESTONES["approval_and_start"]),
    ("transition", "项目进入「已审批」阶段"),
    ("transition", "项目进入「施工中」阶段"),
    ("milestone_due", labels.MILESTONES["works_finished"]),
    ("consultation_opened", "改造方案第二次征询"),
    ("progress_update", "进度公示"),
    ("consultation_closes", "改造方案第二次征询"),
    ("milestone_due", labels.MILESTONES["completion_acceptance"]),
]


def _url(w, project=None) -> str:
    return f"/api/v1/projects/{project or w.construction}/timeline"


def _everything(client, w, actor="resident_member") -> list[dict]:
    reply = client.get(_url(w), query_string={"per_page": 100}, headers=w.headers[actor])
    assert reply.status_code == 200, reply.json
    assert reply.json["total"] == len(reply.json["items"])
    return reply.json["items"]


def _progress(client, w, body="外墙保温完成，开始屋面防水", photos=()):
    reply = client.post(
        f"/api/v1/projects/{w.construction}/progress",
        json={"body": body, "photo_ids": list(photos)},
        headers=w.headers["owner"],
    )
    assert reply.status_code == 201, reply.json
    return reply.json


def test_the_timeline_tells_the_history_and_what_is_due_in_time_order(app, world, client):
    w = world
    photo = client.post(
        f"/api/v1/projects/{w.construction}/uploads",
        headers=w.headers["owner"],
        **multipart(JPEG),
    ).json["id"]
    update = _progress(client, w, photos=[photo])
    items = _everything(client, w)
    assert [(e["kind"], e["title"]) for e in items] == EXPECTED
    for e in items:
        assert e["kind_label"] == labels.TIMELINE_KINDS[e["kind"]]
    assert [e["at"] for e in items] == sorted(e["at"] for e in items)
    # Past and future: what is still to come is flagged.
    assert [e["future"] for e in items] == [False] * 12 + [True] * 2

    by_title = {(e["kind"], e["title"]): e for e in items}
    started = by_title[("transition", "项目进入「施工中」阶段")]
    assert (started["status"], started["status_label"]) == ("construction", "施工中")
    assert started["detail"] == "由「已审批」转为「施工中」" and started["all_day"] is False

    today = local_today()
    late = by_title[("milestone_done", labels.MILESTONES["preparation"])]
    assert late["milestone"] == "preparation" and late["overdue"] is True
    assert late["done_on"] == (today - 50 * DAY).isoformat()
    assert late["due_on"] == (today - 60 * DAY).isoformat()
    assert late["all_day"] is True and "晚10天" in late["detail"]
    assert late["at"] == _midnight(today - 50 * DAY)
    on_time = by_title[("milestone_done", labels.MILESTONES["approval_and_start"])]
    assert on_time["overdue"] is False
    open_late = by_title[("milestone_due", labels.MILESTONES["works_finished"])]
    assert open_late["overdue"] is True and open_late["done_on"] is None
    assert "已逾期" in open_late["detail"]
    ahead = by_title[("milestone_due", labels.MILESTONES["completion_acceptance"])]
    assert ahead["overdue"] is False and ahead["future"] is True

    closing = by_title[("consultation_closes", "改造方案第二次征询")]
    assert closing["consultation_kind"] == "plan_satisfaction"
    assert closing["consultation_kind_label"] == "改造方案满意度征询"
    assert isinstance(closing["consultation_id"], int) and closing["milestone"] is None

    posted = by_title[("progress_update", "进度公示")]
    assert posted["progress_id"] == update["id"] and posted["photo_count"] == 1
    assert posted["detail"] == "外墙保温完成，开始屋面防水"
    assert by_title[("plan_version", "改造方案第1版")]["plan_id"] == w.plan
    # The draft consultation is no event.
    assert "尚未开始的征询" not in {e["title"] for e in items}


def _midnight(day) -> str:
    return datetime.combine(day, time.min, LOCAL).astimezone(UTC).isoformat()


def test_a_transition_made_through_the_api_joins_the_timeline(app, world, client):
    w = world
    moved = client.post(
        f"/api/v1/projects/{w.construction}/transitions",
        json={"to": "completed"},
        headers=w.headers["owner"],
    )
    assert moved.status_code == 200, moved.json
    items = _everything(client, w, "clerk")
    past = [e for e in items if not e["future"]]
    assert (past[-1]["kind"], past[-1]["status"]) == ("transition", "completed")
    assert past[-1]["title"] == "项目进入「已完工」阶段"


def test_the_timeline_pages(app, world, client):
    w = world
    _progress(client, w)
    headers = w.headers["supervisor"]
    pages = [
        client.get(_url(w), query_string={"per_page": 5, "page": n}, headers=headers).json
        for n in (1, 2, 3, 4)
    ]
    assert [p["total"] for p in pages] == [14] * 4
    assert [len(p["items"]) for p in pages] == [5, 5, 4, 0]
    kinds = [(e["kind"], e["title"]) for p in pages for e in p["items"]]
    assert kinds == EXPECTED


def test_a_project_without_history_has_an_empty_timeline(app, world, client):
    reply = client.get(_url(world, world.other), headers=world.headers["resident_member"])
    assert reply.json == {"items": [], "page": 1, "per_page": 20, "total": 0}


@pytest.mark.parametrize(
    ("actor", "status"),
    [
        ("anonymous", 401),
        ("resident_other_estate", 404),
        ("resident_unverified", 404),  # a pending claim sees nothing yet
        ("clerk_other_community", 404),
        ("owner_other_project", 404),
        *[(actor, 200) for actor in (*RESIDENTS_IN, *STAFF_IN)],
    ],
)
def test_who_sees_the_timeline(app, world, client, actor, status):
    before = snapshot(app)
    reply = client.get(_url(world), headers=world.headers[actor])
    if status == 200:
        assert reply.status_code == 200 and reply.json["total"] == 13
        return
    refused(app, before, reply, status, "project_not_found" if status == 404 else None)
    missing = client.get(_url(world, 987_654), headers=world.headers[actor])
    assert (missing.status_code, missing.json) == (reply.status_code, reply.json)


@pytest.mark.parametrize(
    "query", [{"page": 0}, {"page": "x"}, {"per_page": 0}, {"per_page": 101}, {"page": 10**6}]
)
def test_a_bad_page_is_422(app, world, client, query):
    reply = client.get(_url(world), query_string=query, headers=world.headers["resident_member"])
    assert "fields" in assert_error_shape(reply, 422)["details"]
