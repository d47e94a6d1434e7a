"""What the console's building site and completion pages need of the API (issue 14, pages 1
and 2): an answer with the owner's photos, which the ticket's reporter alone may fetch, and the
completion ratings read by staff (the distribution of scores per dimension, the comments)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.support.feedback_world import (
    JPEG,
    RATING,
    World,
    assert_error_shape,
    build_world,
    multipart,
    refused,
    snapshot,
)


@pytest.fixture(scope="module")
def world(app, module_transaction) -> World:
    """The world, built once for the module; each test rolls back to it."""
    return build_world(app)


def _upload(client, w, actor, project=None) -> int:
    reply = client.post(
        f"/api/v1/projects/{project or w.construction}/uploads",
        headers=w.headers[actor],
        **multipart(JPEG),
    )
    assert reply.status_code == 201, reply.json
    return reply.json["id"]


def test_an_answer_carries_the_owners_photos_to_the_reporter_alone(app, world, client):
    w = world
    photo = _upload(client, w, "owner")
    reporter = w.headers["resident_member"]
    # Before the answer the owner's photo is no resident's to fetch.
    assert client.get(f"/api/v1/uploads/{photo}", headers=reporter).status_code == 404
    answered = client.post(
        f"/api/v1/tickets/{w.ticket_open}/answer",
        json={"answer": "已修复，见照片", "photo_ids": [photo, photo]},
        headers=w.headers["owner"],
    )
    assert answered.status_code == 200, answered.json
    step = answered.json["events"][-1]
    assert step["kind"] == "answered" and step["body"] == "已修复，见照片"
    assert [p["id"] for p in step["photos"]] == [photo]  # a repeated id once
    assert step["photos"][0]["url"] == f"/api/v1/uploads/{photo}"
    assert answered.json["events"][0]["photos"] == []
    # The reporter reads the answer with its photo and fetches it; another resident cannot.
    detail = client.get(f"/api/v1/tickets/{w.ticket_open}", headers=reporter).json
    assert [p["id"] for p in detail["events"][-1]["photos"]] == [photo]
    fetched = client.get(f"/api/v1/uploads/{photo}", headers=reporter)
    assert fetched.status_code == 200 and fetched.data == JPEG
    fetched.close()
    other = client.get(f"/api/v1/uploads/{photo}", headers=w.headers["supervisor"])
    assert other.status_code == 404
    other.close()


@pytest.mark.parametrize(
    ("photo_ids", "why"),
    [
        ("theirs", "a resident's photo"),
        ("county", "another staff member's photo"),
        ("other_project", "the owner's photo of another project"),
        ("unknown", "an unknown id"),
    ],
)
def test_an_answer_photo_must_be_the_answerers_own_of_this_project(
    app, world, client, photo_ids, why
):
    w = world
    ids = {
        "theirs": lambda: [w.upload],
        "county": lambda: [_upload(client, w, "county_officer")],
        "other_project": lambda: [_upload(client, w, "owner", project=w.completed)],
        "unknown": lambda: [999999],
    }[photo_ids]()
    before = snapshot(app)
    reply = client.post(
        f"/api/v1/tickets/{w.ticket_open}/answer",
        json={"answer": "已处理", "photo_ids": ids},
        headers=w.headers["owner"],
    )
    error = refused(app, before, reply, 422, "upload_invalid")
    assert error["details"]["photo_ids"] == ids, why


def test_ratings_are_read_by_staff_with_their_comments_and_no_household(app, world, client):
    w = world
    path = f"/api/v1/projects/{w.completed}/ratings"
    rate = client.post(
        f"/api/v1/projects/{w.completed}/ratings",
        json={**RATING, "comment": "电梯装得好，楼道干净"},
        headers=w.headers["resident_member"],
    )
    assert rate.status_code == 201, rate.json
    page = client.get(path, headers=w.headers["clerk"]).json
    assert set(page) == {"items", "page", "per_page", "total"} and page["total"] == 2
    latest = page["items"][0]
    assert latest["comment"] == "电梯装得好，楼道干净" and latest["overall"] == RATING["overall"]
    assert "household_id" not in latest and "resident_id" not in latest
    commented = client.get(f"{path}?commented=true", headers=w.headers["owner"]).json
    assert [r["comment"] for r in commented["items"]] == ["电梯装得好，楼道干净"]
    silent = client.get(f"{path}?commented=false&per_page=1", headers=w.headers["owner"]).json
    assert silent["total"] == 1 and silent["items"][0]["comment"] is None

    spread = client.get(
        f"/api/v1/projects/{w.completed}/completion/distribution", headers=w.headers["clerk"]
    ).json
    assert spread["ratings"] == 2
    by = {d["dimension"]: d for d in spread["dimensions"]}
    assert list(by) == ["quality", "environment", "facilities", "site_management", "overall"]
    assert by["quality"]["dimension_label"] == "工程质量"
    # The world's rating (quality 4, site management 3) and this one (RATING).
    assert by["quality"]["counts"] == [0, 0, 0, 1, 1]
    assert by["site_management"]["counts"] == [0, 0, 2, 0, 0]
    assert all(sum(d["counts"]) == 2 for d in spread["dimensions"])
    # The rating window's dates: it opened 30 days before it closes.
    completion = client.get(
        f"/api/v1/projects/{w.completed}/completion", headers=w.headers["clerk"]
    ).json
    opens = datetime.fromisoformat(completion["rating_opens_at"])
    closes = datetime.fromisoformat(completion["rating_closes_at"])
    assert closes - opens == timedelta(days=30)


def test_a_project_without_ratings_has_an_empty_distribution(app, world, client):
    w = world
    spread = client.get(
        f"/api/v1/projects/{w.construction}/completion/distribution", headers=w.headers["owner"]
    ).json
    assert spread["ratings"] == 0
    assert all(d["counts"] == [0] * 5 for d in spread["dimensions"])


@pytest.mark.parametrize(
    "query", ["commented=maybe", "page=0", "per_page=101", "per_page=x", "commented="]
)
def test_a_bad_ratings_query_is_422(app, world, client, query):
    w = world
    reply = client.get(
        f"/api/v1/projects/{w.completed}/ratings?{query}", headers=w.headers["clerk"]
    )
    assert_error_shape(reply, 422)


def test_unknown_projects_are_404(app, world, client):
    for path in (
        "/api/v1/projects/999999/ratings",
        "/api/v1/projects/999999/completion/distribution",
    ):
        assert_error_shape(client.get(path, headers=world.headers["clerk"]), 404)
