"""Bad input on every JSON write of issue 4: malformed JSON, a body that is no object, unknown
fields, wrong types, an oversized body, unknown ids. Each refusal is in the error shape and
leaves the database and the upload folder as they were. (Uploads have their own tests in
test_feedback_tickets.py; domain refusals such as a closed rating window live with their flows.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.feedback.test_permissions import ENDPOINTS
from tests.support.acceptance_documents import add_acceptance_documents
from tests.support.feedback_world import (
    RATING,
    World,
    acceptance_body,
    build_world,
    refused,
    snapshot,
)


@dataclass(frozen=True)
class Write:
    name: str
    actor: str  # one who may make this write
    path: Callable[[World], str]
    body: Callable[[World], dict]  # a body that would be accepted
    wrong: tuple  # (field, a value of the wrong type or shape)


WRITES = [
    Write(
        "sign-up",
        "resident_member",
        lambda w: f"/api/v1/projects/{w.construction}/supervisors",
        lambda w: {"trade": "电工", "days_available": ["sat"], "note": "周末有空"},
        (
            ("days_available", "sat"),
            ("days_available", ["funday"]),
            ("days_available", ["mon"] * 8),
            ("trade", 12),
            ("trade", "长" * 51),
            ("note", "长" * 501),
            ("household_id", "1"),
            ("household_id", 2**31),
        ),
    ),
    Write(
        "decline",
        "clerk",
        lambda w: f"/api/v1/supervisors/{w.signup_pending}/decline",
        lambda w: {"reason": "名额已满"},
        (("reason", ""), ("reason", None), ("reason", 5), ("reason", "原" * 501)),
    ),
    Write(
        "inspection",
        "supervisor",
        lambda w: f"/api/v1/projects/{w.construction}/inspections",
        lambda w: {"aspects": ["safety"], "findings": "未戴安全帽", "severity": "minor"},
        (
            ("aspects", []),
            ("aspects", ["weather"]),
            ("aspects", "safety"),
            ("severity", "bad"),
            ("severity", None),
            ("findings", ""),
            ("findings", "长" * 2001),
            ("photo_ids", [0]),
            ("photo_ids", ["1"]),
            ("photo_ids", list(range(1, 11))),
            ("location", 3),
        ),
    ),
    Write(
        "problem",
        "resident_member",
        lambda w: f"/api/v1/projects/{w.construction}/problems",
        lambda w: {"description": "夜间施工", "aspects": ["noise_dust"]},
        (
            ("description", ""),
            ("description", None),
            ("severity", "none"),
            ("aspects", "noise_dust"),
            ("photo_ids", {"1": 1}),
        ),
    ),
    Write(
        "answer",
        "owner",
        lambda w: f"/api/v1/tickets/{w.ticket_open}/answer",
        lambda w: {"answer": "已调整施工时间"},
        (
            ("answer", ""),
            ("answer", ["x"]),
            ("answer", "长" * 2001),
            ("photo_ids", "1"),
            ("photo_ids", ["1"]),
            ("photo_ids", [1] * 10),
            ("photo_ids", [2**31]),
        ),
    ),
    Write(
        "confirm",
        "supervisor",
        lambda w: f"/api/v1/tickets/{w.ticket_answered}/confirm",
        lambda w: {"remarks": "已解决"},
        (("remarks", 5), ("remarks", "长" * 501)),
    ),
    Write(
        "reopen",
        "supervisor",
        lambda w: f"/api/v1/tickets/{w.ticket_answered}/reopen",
        lambda w: {"reason": "仍有问题"},
        (("reason", "  "), ("reason", None), ("reason", {"r": 1})),
    ),
    Write(
        "rating",
        "resident_member",
        lambda w: f"/api/v1/projects/{w.completed}/ratings",
        lambda w: dict(RATING, comment="满意"),
        (("quality", 0), ("overall", 6), ("overall", "5"), ("overall", 4.5), ("comment", 1)),
    ),
    Write(
        "acceptance",
        "owner",
        lambda w: f"/api/v1/projects/{w.completed}/acceptance",
        lambda w: acceptance_body([w.callers["resident_member"]]),
        (
            ("held_on", "2025-13-01"),
            ("held_on", None),
            ("parties", []),
            ("parties", [{"role": "design"}]),
            ("representatives", [{"resident_id": "x", "verdict": "pass"}]),
            ("representatives", "张三"),
            ("remarks", 12),
        ),
    ),
    Write(
        "comment on a project",
        "resident_member",
        lambda w: f"/api/v1/projects/{w.construction}/comments",
        lambda w: {"body": "支持改造"},
        (("body", ""), ("body", "长" * 1001), ("parent_id", 0), ("parent_id", "1")),
    ),
    Write(
        "comment on a plan",
        "resident_member",
        lambda w: f"/api/v1/plans/{w.plan}/comments",
        lambda w: {"body": "建议加装路灯"},
        (("body", None), ("body", 5)),
    ),
    Write(
        "report",
        "resident_member",
        lambda w: f"/api/v1/comments/{w.comment}/report",
        lambda w: {"reason": "广告"},
        (("reason", 5), ("reason", "长" * 201)),
    ),
    Write(
        "hide",
        "clerk",
        lambda w: f"/api/v1/comments/{w.comment}/hide",
        lambda w: {"reason": "广告"},
        (("reason", ""), ("reason", None)),
    ),
    Write(
        "restore",
        "clerk",
        lambda w: f"/api/v1/comments/{w.hidden_comment}/restore",
        lambda w: {"reason": "误判"},
        (("reason", None), ("reason", 0)),
    ),
    Write(
        "official reply",
        "clerk",
        lambda w: f"/api/v1/comments/{w.comment}/replies",
        lambda w: {"body": "周末不安排高噪音作业"},
        (("body", ""), ("body", None), ("body", 5), ("body", "长" * 1001)),
    ),
    Write(
        "acceptance document",
        "owner",
        lambda w: f"/api/v1/projects/{w.completed}/acceptance/documents",
        lambda w: {"upload_id": w.owner_pdf, "title": "竣工验收报告"},
        (
            ("upload_id", "1"),
            ("upload_id", 0),
            ("upload_id", None),
            ("upload_id", 2**31),
            ("title", ""),
            ("title", 3),
            ("title", "长" * 201),
        ),
    ),
]
BY_NAME = {write.name: write for write in WRITES}


@pytest.fixture(scope="module")
def world(app, module_transaction) -> World:
    """The world, built once for the module; each test rolls back to it."""
    return add_acceptance_documents(app, build_world(app))


def _post(client, w, write, **kwargs):
    return client.post(write.path(w), headers=w.headers[write.actor], **kwargs)


@pytest.mark.parametrize("name", BY_NAME)
def test_the_accepted_body_is_accepted(app, client, world, wechat, name):
    write = BY_NAME[name]
    reply = _post(client, world, write, json=write.body(world))
    assert reply.status_code in (200, 201), reply.json


@pytest.mark.parametrize("name", BY_NAME)
def test_malformed_json_is_400(app, client, world, name):
    before = snapshot(app)
    reply = _post(client, world, BY_NAME[name], data='{"reason": ', content_type="application/json")
    refused(app, before, reply, 400, "malformed_request")


@pytest.mark.parametrize("name", BY_NAME)
@pytest.mark.parametrize("body", [[1, 2], "text", 12])
def test_a_body_that_is_not_an_object_is_422(app, client, world, name, body):
    before = snapshot(app)
    refused(app, before, _post(client, world, BY_NAME[name], json=body), 422)


@pytest.mark.parametrize("name", BY_NAME)
def test_unknown_fields_are_422_naming_them(app, client, world, name):
    write = BY_NAME[name]
    before = snapshot(app)
    body = {**write.body(world), "status": "accepted", "id": 1}
    error = refused(app, before, _post(client, world, write, json=body), 422)
    assert {"status", "id"} <= set(error["details"]["fields"])


@pytest.mark.parametrize(
    ("name", "field", "value"),
    [(w.name, field, value) for w in WRITES for field, value in w.wrong],
)
def test_wrong_values_are_422_naming_the_field(app, client, world, wechat, name, field, value):
    write = BY_NAME[name]
    before = snapshot(app)
    body = {**write.body(world), field: value}
    error = refused(app, before, _post(client, world, write, json=body), 422)
    assert field in error["details"]["fields"], error
    assert wechat.checked == []


@pytest.mark.parametrize("name", BY_NAME)
def test_a_body_over_1_MiB_is_413(app, client, world, name):
    write = BY_NAME[name]
    before = snapshot(app)
    body = {**write.body(world), "padding": "x" * (1024 * 1024)}
    refused(app, before, _post(client, world, write, json=body), 413, "payload_too_large")


def _with_ids(rule: str, value) -> str:
    path = rule
    while "<int:" in path:
        start = path.index("<int:")
        path = path[:start] + str(value) + path[path.index(">", start) + 1 :]
    return path


@pytest.mark.parametrize(
    "endpoint", [e for e in ENDPOINTS if "<int:" in e.rule], ids=lambda e: e.id
)
@pytest.mark.parametrize("bad_id", [999999, 2**31, 0])
def test_unknown_ids_in_the_path_are_404(app, client, world, wechat, endpoint, bad_id):
    """Any caller allowed on the real object gets a 404 for an id that does not exist."""
    wanted = 404
    actor = next(a for a, status in endpoint.answers.items() if status < 300)
    kwargs = endpoint.request(world)
    kwargs.pop("path")
    before = snapshot(app)
    reply = client.open(
        _with_ids(endpoint.rule, bad_id),
        method=endpoint.method,
        headers=world.headers[actor],
        **kwargs,
    )
    refused(app, before, reply, wanted)
