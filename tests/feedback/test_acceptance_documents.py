"""Issue 14: the joint acceptance as the console records it: residents' representatives found
by search (masked), the acceptance documents attached and removed, and the step to `accepted`
refused until the record allows it."""

from __future__ import annotations

import pytest

from tests.support.acceptance_documents import add_acceptance_documents, staff_pdf
from tests.support.feedback_world import (
    World,
    acceptance_body,
    build_world,
    refused,
    snapshot,
)


@pytest.fixture(scope="module")
def world(app, module_transaction) -> World:
    return add_acceptance_documents(app, build_world(app))


def test_representatives_are_found_by_name_or_room_with_masked_names(client, world):
    w = world
    path = f"/api/v1/projects/{w.completed}/acceptance/candidates"
    every = client.get(path, headers=w.headers["owner"]).json
    # The estate's verified residents only: not the pending claimant, not another estate's.
    assert every["total"] == 4 and every["page"] == 1
    assert [c["room"] for c in every["items"]] == ["101", "102", "103", "104"]
    first = every["items"][0]
    assert set(first) == {
        "resident_id",
        "household_id",
        "name",
        "nickname",
        "estate",
        "building",
        "unit",
        "room",
    }
    assert first["name"] == "张*" and first["nickname"] == "张*"
    assert first["resident_id"] == w.callers["resident_member"]
    assert "张伟" not in str(every) and "李娜娜" not in str(every)

    by_name = client.get(path, query_string={"q": "娜"}, headers=w.headers["county_officer"]).json
    assert [c["resident_id"] for c in by_name["items"]] == [w.callers["supervisor"]]
    by_room = client.get(path, query_string={"q": "104"}, headers=w.headers["prefecture"]).json
    assert [c["room"] for c in by_room["items"]] == ["104"]
    assert client.get(path, query_string={"q": "%"}, headers=w.headers["owner"]).json["total"] == 0

    for query in ({"q": "长" * 51}, {"per_page": 0}, {"page": "x"}):
        reply = client.get(path, query_string=query, headers=w.headers["owner"])
        assert reply.status_code == 422, reply.json
        assert reply.json["error"]["code"] == "invalid"


def test_documents_are_attached_listed_and_removed_while_completed(app, client, world):
    w = world
    path = f"/api/v1/projects/{w.completed}/acceptance/documents"
    owner = w.headers["owner"]
    attached = client.post(
        path, json={"upload_id": w.owner_pdf, "title": " 竣工验收报告 "}, headers=owner
    )
    assert attached.status_code == 201, attached.json
    assert attached.json["title"] == "竣工验收报告"
    assert attached.json["content_type"] == "application/pdf"
    assert attached.json["url"] == f"/api/v1/uploads/{w.owner_pdf}"
    listed = client.get(path, headers=w.headers["clerk"]).json
    assert [d["title"] for d in listed["items"]] == ["竣工图", "竣工验收报告"]
    # The file itself, for staff who see the project; never for its residents.
    fetched = client.get(attached.json["url"], headers=w.headers["county_officer"])
    fetched.close()  # a file reply holds the file open until closed
    assert fetched.status_code == 200 and fetched.mimetype == "application/pdf"
    got = client.get(attached.json["url"], headers=w.headers["resident_member"])
    assert got.status_code == 404

    before = snapshot(app)
    again = client.post(path, json={"upload_id": w.owner_pdf, "title": "再次"}, headers=owner)
    refused(app, before, again, 422, "upload_duplicate")
    # A resident's photo, or another project's upload, is not the owner's upload here.
    refused(
        app,
        before,
        client.post(path, json={"upload_id": w.upload, "title": "照片"}, headers=owner),
        422,
        "upload_invalid",
    )
    refused(
        app,
        before,
        client.post(path, json={"upload_id": 999999, "title": "无"}, headers=owner),
        422,
        "upload_invalid",
    )
    # Another project's document through this project's path does not exist.
    other = f"/api/v1/projects/{w.accepted}/acceptance/documents/{w.acceptance_document}"
    refused(app, before, client.delete(other, headers=owner), 404, "document_not_found")

    removed = client.delete(f"{path}/{attached.json['id']}", headers=owner)
    assert removed.status_code == 200 and removed.json["title"] == "竣工验收报告"
    before = snapshot(app)
    gone = client.delete(f"{path}/{attached.json['id']}", headers=owner)
    refused(app, before, gone, 404, "document_not_found")


def test_an_accepted_projects_documents_are_the_record(app, client, world):
    w = world
    with app.app_context():
        from api.core import db

        upload = staff_pdf(app, w.accepted, w.callers["owner"])
        db.session.commit()
    path = f"/api/v1/projects/{w.accepted}/acceptance/documents"
    before = snapshot(app)
    reply = client.post(
        path, json={"upload_id": upload, "title": "补充"}, headers=w.headers["owner"]
    )
    error = refused(app, before, reply, 409, "project_not_completed")
    assert error["details"] == {"status": "accepted"}


def test_accepted_is_refused_with_the_reason_until_the_record_allows_it(app, client, world):
    w = world
    owner = w.headers["owner"]
    step = f"/api/v1/projects/{w.completed}/transitions"
    before = snapshot(app)
    refused(app, before, client.post(step, json={"to": "accepted"}, headers=owner), 409)
    missing = client.post(step, json={"to": "accepted"}, headers=owner).json["error"]
    assert missing["code"] == "acceptance_missing"
    assert missing["message"] == "尚未登记竣工联合验收记录，项目不能转为已验收"

    recorded = client.post(
        f"/api/v1/projects/{w.completed}/acceptance",
        json=acceptance_body([w.callers["resident_member"]], verdict="fail"),
        headers=owner,
    )
    assert recorded.status_code == 201, recorded.json
    failed = client.post(step, json={"to": "accepted"}, headers=owner)
    assert failed.status_code == 409 and failed.json["error"]["code"] == "acceptance_failed"
