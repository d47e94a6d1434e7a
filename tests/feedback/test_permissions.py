"""The permission matrix of issue 4: every endpoint of supervision, tickets, ratings, acceptance
and comments against every kind of caller (tests/support/feedback_world.py describes them).

Anonymous → 401; a caller out of scope → 403 or 404 (404 where an id must not be confirmed to
exist: residents outside a project's estates and staff outside its scope, issue 9 item 15); the
allowed callers → 2xx, or a 409 where the world's state says so (a resident who has
already signed up). A refused call leaves the database and the upload folder as they were.
`test_the_matrix_lists_every_endpoint_of_issue_4` fails when an endpoint is added to these
blueprints without a row here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.support.acceptance_documents import add_acceptance_documents
from tests.support.feedback_world import (
    ACTORS,
    JPEG,
    RATING,
    RESIDENTS,
    RESIDENTS_IN,
    RESIDENTS_OUT,
    STAFF,
    STAFF_IN,
    STAFF_OUT,
    World,
    acceptance_body,
    assert_error_shape,
    build_world,
    multipart,
    refused,
    snapshot,
)


def answers(default: int, **overrides: int) -> dict[str, int]:
    result = {actor: default for actor in ACTORS}
    result["anonymous"] = 401
    result.update(overrides)
    return result


def visible(ok: int = 200) -> dict[str, int]:
    """Reads of a project: its residents and staff in scope; to residents outside its estates
    and staff outside its scope it does not exist (404)."""
    return answers(
        403,
        **{a: ok for a in RESIDENTS_IN + STAFF_IN},
        **{a: 404 for a in STAFF_OUT + RESIDENTS_OUT},
    )


def residents_of_estate(ok: int, **overrides: int) -> dict[str, int]:
    """Writes by verified residents of a covered estate; to residents outside its estates the
    project does not exist (404); staff 403 (residents only)."""
    return answers(
        403, **{**{a: 404 for a in RESIDENTS_OUT}, **{a: ok for a in RESIDENTS_IN}, **overrides}
    )


def clerks(ok: int = 200) -> dict[str, int]:
    """The committee of a covered community, the county, the prefecture; not the owner."""
    return answers(
        403,
        **{a: ok for a in ("clerk", "county_officer", "prefecture")},
        **{a: 404 for a in STAFF_OUT},
    )


def managers(ok: int = 200) -> dict[str, int]:
    """The project owner, the county, the prefecture; not the committee."""
    return answers(
        403,
        **{a: ok for a in ("owner", "county_officer", "prefecture")},
        **{a: 404 for a in STAFF_OUT},
    )


def only_resident(actor: str, ok: int = 200) -> dict[str, int]:
    """One resident's own object: others get 404, staff 403 (residents only)."""
    return answers(403, **{**{a: 404 for a in RESIDENTS}, actor: ok})


@dataclass(frozen=True)
class Endpoint:
    method: str
    rule: str  # as in the app's url_map
    request: Callable[[World], dict]  # World -> keyword arguments of `client.open`
    answers: dict

    @property
    def id(self) -> str:
        return f"{self.method} {self.rule.removeprefix('/api/v1')}"


def _json(path, body=None):
    return lambda w: {"path": path(w), **({"json": body(w)} if body else {})}


ENDPOINTS = [
    Endpoint(
        "GET",
        "/api/v1/projects/<int:project_id>/timeline",
        _json(lambda w: f"/api/v1/projects/{w.construction}/timeline"),
        visible(),
    ),
    Endpoint(
        "POST",
        "/api/v1/projects/<int:project_id>/progress",
        _json(
            lambda w: f"/api/v1/projects/{w.construction}/progress",
            lambda w: {"body": "外墙保温层施工完成"},
        ),
        managers(201),
    ),
    Endpoint(
        "GET",
        "/api/v1/projects/<int:project_id>/progress",
        _json(lambda w: f"/api/v1/projects/{w.construction}/progress"),
        visible(),
    ),
    Endpoint(
        "POST",
        "/api/v1/projects/<int:project_id>/supervisors",
        _json(
            lambda w: f"/api/v1/projects/{w.construction}/supervisors",
            lambda w: {"trade": "木工", "days_available": ["sat", "sun"]},
        ),
        # Those already signed up have a live sign-up: 409.
        residents_of_estate(201, supervisor=409, supervisor_pending=409),
    ),
    Endpoint(
        "GET",
        "/api/v1/projects/<int:project_id>/supervisors",
        _json(lambda w: f"/api/v1/projects/{w.construction}/supervisors"),
        visible(),
    ),
    Endpoint(
        "GET",
        "/api/v1/me/supervision",
        _json(lambda w: "/api/v1/me/supervision"),
        # The caller's own sign-ups: every resident may ask (theirs only); staff 403.
        answers(403, **{a: 200 for a in RESIDENTS}),
    ),
    Endpoint(
        "POST",
        "/api/v1/supervisors/<int:signup_id>/accept",
        _json(lambda w: f"/api/v1/supervisors/{w.signup_pending}/accept"),
        clerks(),
    ),
    Endpoint(
        "POST",
        "/api/v1/supervisors/<int:signup_id>/decline",
        _json(
            lambda w: f"/api/v1/supervisors/{w.signup_pending}/decline",
            lambda w: {"reason": "名额已满"},
        ),
        clerks(),
    ),
    Endpoint(
        "POST",
        "/api/v1/supervisors/<int:signup_id>/withdraw",
        _json(lambda w: f"/api/v1/supervisors/{w.signup_pending}/withdraw"),
        only_resident("supervisor_pending"),
    ),
    Endpoint(
        "POST",
        "/api/v1/projects/<int:project_id>/uploads",
        lambda w: {"path": f"/api/v1/projects/{w.construction}/uploads", **multipart(JPEG)},
        # Residents of its estates (report photos) and staff who see the project (a paper
        # ballot's form); to everyone else the project does not exist.
        residents_of_estate(201, **{a: 201 for a in STAFF_IN}, **{a: 404 for a in STAFF_OUT}),
    ),
    Endpoint(
        "GET",
        "/api/v1/uploads/<int:upload_id>",
        _json(lambda w: f"/api/v1/uploads/{w.upload}"),
        # The uploader and staff who see the project; nobody else learns it exists.
        answers(404, **{"supervisor": 200, **{a: 200 for a in STAFF_IN}}),
    ),
    Endpoint(
        "POST",
        "/api/v1/projects/<int:project_id>/inspections",
        _json(
            lambda w: f"/api/v1/projects/{w.construction}/inspections",
            lambda w: {"aspects": ["noise_dust"], "findings": "扬尘较大", "severity": "minor"},
        ),
        residents_of_estate(201, resident_member=403, supervisor_pending=403),
    ),
    Endpoint(
        "GET",
        "/api/v1/projects/<int:project_id>/inspections",
        _json(lambda w: f"/api/v1/projects/{w.construction}/inspections"),
        visible(),
    ),
    Endpoint(
        "POST",
        "/api/v1/projects/<int:project_id>/problems",
        _json(
            lambda w: f"/api/v1/projects/{w.construction}/problems",
            lambda w: {"description": "路面积水", "aspects": ["workmanship"]},
        ),
        residents_of_estate(201),
    ),
    Endpoint(
        "GET",
        "/api/v1/projects/<int:project_id>/tickets",
        _json(lambda w: f"/api/v1/projects/{w.construction}/tickets"),
        visible(),
    ),
    Endpoint(
        "GET",
        "/api/v1/tickets/<int:ticket_id>",
        _json(lambda w: f"/api/v1/tickets/{w.ticket_answered}"),
        answers(404, **{"supervisor": 200, **{a: 200 for a in STAFF_IN}}),
    ),
    Endpoint(
        "POST",
        "/api/v1/tickets/<int:ticket_id>/answer",
        _json(
            lambda w: f"/api/v1/tickets/{w.ticket_open}/answer",
            lambda w: {"answer": "已调整施工时间"},
        ),
        managers(),
    ),
    Endpoint(
        "POST",
        "/api/v1/tickets/<int:ticket_id>/confirm",
        _json(lambda w: f"/api/v1/tickets/{w.ticket_answered}/confirm", lambda w: {}),
        only_resident("supervisor"),
    ),
    Endpoint(
        "POST",
        "/api/v1/tickets/<int:ticket_id>/reopen",
        _json(
            lambda w: f"/api/v1/tickets/{w.ticket_answered}/reopen",
            lambda w: {"reason": "防护网仍未装好"},
        ),
        only_resident("supervisor"),
    ),
    Endpoint(
        "POST",
        "/api/v1/projects/<int:project_id>/ratings",
        _json(lambda w: f"/api/v1/projects/{w.completed}/ratings", lambda w: RATING),
        # The supervisor's household has rated already: its rating is replaced (200).
        residents_of_estate(201, supervisor=200),
    ),
    Endpoint(
        "GET",
        "/api/v1/projects/<int:project_id>/ratings/mine",
        _json(lambda w: f"/api/v1/projects/{w.completed}/ratings/mine"),
        residents_of_estate(404, supervisor=200),
    ),
    Endpoint(
        "GET",
        "/api/v1/projects/<int:project_id>/completion",
        _json(lambda w: f"/api/v1/projects/{w.completed}/completion"),
        visible(),
    ),
    Endpoint(
        "GET",
        "/api/v1/projects/<int:project_id>/completion/distribution",
        _json(lambda w: f"/api/v1/projects/{w.completed}/completion/distribution"),
        visible(),
    ),
    Endpoint(
        "GET",
        "/api/v1/projects/<int:project_id>/ratings",
        _json(lambda w: f"/api/v1/projects/{w.completed}/ratings"),
        # Staff who see the project read the households' ratings; residents 403 (staff only).
        answers(403, **{a: 200 for a in STAFF_IN}, **{a: 404 for a in STAFF_OUT}),
    ),
    Endpoint(
        "POST",
        "/api/v1/projects/<int:project_id>/acceptance",
        _json(
            lambda w: f"/api/v1/projects/{w.completed}/acceptance",
            lambda w: acceptance_body([w.callers["resident_member"]]),
        ),
        managers(201),
    ),
    Endpoint(
        "GET",
        "/api/v1/projects/<int:project_id>/acceptance",
        _json(lambda w: f"/api/v1/projects/{w.accepted}/acceptance"),
        visible(),
    ),
    Endpoint(
        "POST",
        "/api/v1/projects/<int:project_id>/comments",
        _json(
            lambda w: f"/api/v1/projects/{w.construction}/comments",
            lambda w: {"body": "施工队很负责"},
        ),
        residents_of_estate(201),
    ),
    Endpoint(
        "GET",
        "/api/v1/projects/<int:project_id>/comments",
        _json(lambda w: f"/api/v1/projects/{w.construction}/comments"),
        visible(),
    ),
    Endpoint(
        "POST",
        "/api/v1/plans/<int:plan_id>/comments",
        _json(lambda w: f"/api/v1/plans/{w.plan}/comments", lambda w: {"body": "建议增加路灯"}),
        residents_of_estate(201),
    ),
    Endpoint(
        "GET",
        "/api/v1/plans/<int:plan_id>/comments",
        _json(lambda w: f"/api/v1/plans/{w.plan}/comments"),
        visible(),
    ),
    Endpoint(
        "POST",
        "/api/v1/comments/<int:comment_id>/report",
        _json(lambda w: f"/api/v1/comments/{w.comment}/report", lambda w: {"reason": "不实"}),
        residents_of_estate(201),
    ),
    Endpoint(
        "PUT",
        "/api/v1/comments/<int:comment_id>/like",
        _json(lambda w: f"/api/v1/comments/{w.comment}/like"),
        residents_of_estate(200),
    ),
    Endpoint(
        "DELETE",
        "/api/v1/comments/<int:comment_id>/like",
        _json(lambda w: f"/api/v1/comments/{w.comment}/like"),
        residents_of_estate(200),
    ),
    Endpoint(
        "POST",
        "/api/v1/comments/<int:comment_id>/hide",
        _json(lambda w: f"/api/v1/comments/{w.comment}/hide", lambda w: {"reason": "人身攻击"}),
        clerks(),
    ),
    Endpoint(
        "POST",
        "/api/v1/comments/<int:comment_id>/restore",
        _json(
            lambda w: f"/api/v1/comments/{w.hidden_comment}/restore",
            lambda w: {"reason": "复核无问题"},
        ),
        clerks(),
    ),
    # Issue 14: the moderation queue and official replies; the acceptance's representatives
    # found by search, and its documents (tests/support/acceptance_documents.py).
    Endpoint(
        "GET",
        "/api/v1/comments/moderation",
        _json(lambda w: "/api/v1/comments/moderation"),
        # Across the caller's projects: every staff member has one (staff out of this world's
        # scope get theirs, without its comments); residents 403 (staff only).
        answers(403, **{a: 200 for a in STAFF}),
    ),
    Endpoint(
        "POST",
        "/api/v1/comments/<int:comment_id>/replies",
        _json(
            lambda w: f"/api/v1/comments/{w.comment}/replies",
            lambda w: {"body": "周末不安排高噪音作业"},
        ),
        # The committee of its communities and its owner; the county and the prefecture read.
        answers(403, clerk=201, owner=201, **{a: 404 for a in STAFF_OUT}),
    ),
    Endpoint(
        "GET",
        "/api/v1/projects/<int:project_id>/acceptance/candidates",
        _json(lambda w: f"/api/v1/projects/{w.completed}/acceptance/candidates?q=10"),
        managers(),
    ),
    Endpoint(
        "GET",
        "/api/v1/projects/<int:project_id>/acceptance/documents",
        _json(lambda w: f"/api/v1/projects/{w.completed}/acceptance/documents"),
        answers(403, **{a: 200 for a in STAFF_IN}, **{a: 404 for a in STAFF_OUT}),
    ),
    Endpoint(
        "POST",
        "/api/v1/projects/<int:project_id>/acceptance/documents",
        _json(
            lambda w: f"/api/v1/projects/{w.completed}/acceptance/documents",
            lambda w: {"upload_id": w.owner_pdf, "title": "竣工验收报告"},
        ),
        # The PDF is the owner's: the county's and the prefecture's own uploads only (422).
        {**managers(201), "county_officer": 422, "prefecture": 422},
    ),
    Endpoint(
        "DELETE",
        "/api/v1/projects/<int:project_id>/acceptance/documents/<int:document_id>",
        _json(
            lambda w: f"/api/v1/projects/{w.completed}/acceptance/documents/{w.acceptance_document}"
        ),
        managers(),
    ),
]

# Lists across the caller's projects: they concern no one project, so staff outside this
# world's scope are answered (with their own, empty, list).
ACROSS_PROJECTS = {"/api/v1/comments/moderation"}

CASES = [
    pytest.param(endpoint, actor, id=f"{endpoint.id} as {actor}")
    for endpoint in ENDPOINTS
    for actor in ACTORS
]


@pytest.fixture(scope="module")
def world(app, module_transaction) -> World:
    """The world, built once for the module; each test rolls back to it."""
    return add_acceptance_documents(app, build_world(app))


@pytest.mark.parametrize(("endpoint", "actor"), CASES)
def test_permission_matrix(app, client, wechat, world, endpoint, actor):
    w = world
    request = endpoint.request(w)
    path = request.pop("path")
    before = snapshot(app)

    reply = client.open(path, method=endpoint.method, headers=w.headers[actor], **request)
    reply.close()  # a file reply holds the file open until closed

    wanted = endpoint.answers[actor]
    assert reply.status_code == wanted, (actor, reply.get_data(as_text=True)[:500])
    if wanted >= 400:
        error = refused(app, before, reply, wanted)
        if wanted == 401:
            assert error["code"] == "unauthorized"
    elif endpoint.method == "GET":
        assert snapshot(app) == before, "a read changed something"
    else:
        assert reply.mimetype == "application/json"
        if wanted == 201:
            assert snapshot(app) != before, "a created answer but nothing was written"


def test_the_matrix_rows_are_complete():
    for endpoint in ENDPOINTS:
        assert set(endpoint.answers) == set(ACTORS), endpoint.id
        assert endpoint.answers["anonymous"] == 401, endpoint.id
        assert any(status < 300 for status in endpoint.answers.values()), endpoint.id
        # A list of the caller's own (`/me/…`) concerns no project: no resident is outside it.
        outsiders = (
            STAFF_OUT if endpoint.rule.startswith("/api/v1/me/") else RESIDENTS_OUT + STAFF_OUT
        )
        if endpoint.rule in ACROSS_PROJECTS:
            outsiders = RESIDENTS_OUT
        for actor in outsiders:
            assert endpoint.answers[actor] in (403, 404), (endpoint.id, actor)
        if endpoint.method != "GET":
            # Every write refuses somebody signed in, so no write is open to all.
            assert any(endpoint.answers[a] in (403, 404) for a in STAFF), endpoint.id


# And issue 12's timeline and progress updates, read and written by the same callers.
ISSUE_4_BLUEPRINTS = {"supervision", "feedback", "comments", "progress"}


def test_the_matrix_lists_every_endpoint_of_issue_4(app):
    listed = {(e.method, e.rule) for e in ENDPOINTS}
    assert len(listed) == len(ENDPOINTS), "an endpoint is listed twice"
    registered = {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.partition(".")[0] in ISSUE_4_BLUEPRINTS
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert registered - listed == set(), "endpoints without a row in the matrix"
    assert listed - registered == set(), "rows for endpoints that do not exist"


def test_an_unaccepted_supervisor_becomes_one_when_accepted(app, client, world):
    """The same resident the matrix refuses (403 `not_supervisor`) may file once accepted."""
    w = world
    path = f"/api/v1/projects/{w.construction}/inspections"
    body = {"aspects": ["schedule"], "findings": "进度正常", "severity": "none"}
    before = snapshot(app)
    error = refused(
        app, before, client.post(path, json=body, headers=w.headers["supervisor_pending"]), 403
    )
    assert error["code"] == "not_supervisor"

    accepted = client.post(
        f"/api/v1/supervisors/{w.signup_pending}/accept", headers=w.headers["clerk"]
    )
    assert accepted.status_code == 200 and accepted.json["status"] == "accepted"
    filed = client.post(path, json=body, headers=w.headers["supervisor_pending"])
    assert filed.status_code == 201, filed.json
    assert filed.json["has_problem"] is False and filed.json["ticket"] is None


def test_a_declined_or_withdrawn_supervisor_may_no_longer_inspect(app, client, world):
    w = world
    withdrawn = client.post(
        f"/api/v1/supervisors/{w.signup_accepted}/withdraw", headers=w.headers["supervisor"]
    )
    assert withdrawn.status_code == 200 and withdrawn.json["status"] == "withdrawn"
    before = snapshot(app)
    reply = client.post(
        f"/api/v1/projects/{w.construction}/inspections",
        json={"aspects": ["safety"], "findings": "无", "severity": "none"},
        headers=w.headers["supervisor"],
    )
    refused(app, before, reply, 403, "not_supervisor")


def test_an_owner_sees_tickets_of_their_project_only(app, client, world):
    w = world
    mine = client.get(f"/api/v1/projects/{w.construction}/tickets", headers=w.headers["owner"]).json
    assert {t["id"] for t in mine["items"]} == {w.ticket_answered, w.ticket_open}
    assert_error_shape(
        client.get(
            f"/api/v1/projects/{w.construction}/tickets",
            headers=w.headers["owner_other_project"],
        ),
        404,
        "project_not_found",
    )
    # A resident sees the tickets they opened, not their neighbours'.
    member = client.get(
        f"/api/v1/projects/{w.construction}/tickets", headers=w.headers["resident_member"]
    ).json
    assert [t["id"] for t in member["items"]] == [w.ticket_open]
