"""The permission matrix of the estate rules endpoints (小区管理办法): every endpoint against
every kind of caller of tests/feedback/rules_world.py, and bad input on every endpoint that
takes any, each refusal in the error shape with nothing written.

Writes on versions and answers to comments: the committee of the estate's community, its
county, the prefecture; to other staff (the owner of a project covering the estate included)
the estate or version does not exist (404); residents 403 (staff only). Reads: those and the
estate's verified residents (owners and tenants alike); 404 to anyone else. Comments: the
estate's verified residents; staff 403 (residents only); other residents 404.
`test_the_matrix_lists_every_endpoint` fails when an endpoint is added without a row here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.feedback.rules_world import (
    ACTORS,
    RESIDENTS,
    RESIDENTS_IN,
    STAFF_IN,
    STAFF_OUT,
    RulesWorld,
    build_rules_world,
)
from tests.support.feedback_world import assert_error_shape, refused, snapshot

R = "/api/v1/estate-rules"
E = "/api/v1/estates"


def answers(default: int, **overrides: int) -> dict[str, int]:
    result = dict.fromkeys(ACTORS, default)
    result["anonymous"] = 401
    result.update(overrides)
    return result


def readers(ok: int = 200) -> dict[str, int]:
    """Staff in scope and the estate's residents; 404 to anyone else."""
    return answers(404, **dict.fromkeys(STAFF_IN + RESIDENTS_IN, ok))


def staff_readers(ok: int = 200) -> dict[str, int]:
    """Staff in scope only (a draft): residents of the estate do not see it either."""
    return answers(404, **dict.fromkeys(STAFF_IN, ok))


def writers(ok: int = 200) -> dict[str, int]:
    """Staff in scope; other staff 404; residents 403 (staff only)."""
    return answers(403, **dict.fromkeys(STAFF_IN, ok), **dict.fromkeys(STAFF_OUT, 404))


def commenters(ok: int = 201) -> dict[str, int]:
    """The estate's residents; other residents 404; staff 403 (residents only)."""
    return answers(403, **dict.fromkeys(RESIDENTS_IN, ok), resident_out=404)


@dataclass(frozen=True)
class Endpoint:
    method: str
    rule: str  # as in the app's url_map
    request: Callable[[RulesWorld, object], dict]  # (world, client) -> `client.open` kwargs
    answers: dict

    @property
    def id(self) -> str:
        return f"{self.method} {self.rule.removeprefix('/api/v1')}"


def _to(path, body=None):
    return lambda w, client: {"path": path(w), **({"json": body(w)} if body else {})}


def _linked(w, client) -> dict:
    """The published version with the second passed decision linked (by the clerk)."""
    reply = client.put(
        f"{R}/{w.published}/decision",
        json={"consultation_id": w.decisions["passed_2"]},
        headers=w.headers["clerk"],
    )
    assert reply.status_code == 200, reply.get_json()
    return {"path": f"{R}/{w.published}/result"}


ENDPOINTS = [
    Endpoint(
        "GET",
        "/api/v1/estates/<int:estate_id>/rules",
        _to(lambda w: f"{E}/{w.estate}/rules"),
        readers(),
    ),
    Endpoint(
        "POST",
        "/api/v1/estates/<int:estate_id>/rules",
        _to(lambda w: f"{E}/{w.estate}/rules", lambda w: {"title": "新版本", "body": "条文"}),
        writers(201),
    ),
    Endpoint(
        "GET",
        "/api/v1/estates/<int:estate_id>/rules/current",
        _to(lambda w: f"{E}/{w.estate}/rules/current"),
        readers(),
    ),
    Endpoint(
        "GET", "/api/v1/estate-rules/<int:rules_id>", _to(lambda w: f"{R}/{w.published}"), readers()
    ),
    Endpoint(
        "PATCH",
        "/api/v1/estate-rules/<int:rules_id>",
        _to(lambda w: f"{R}/{w.draft}", lambda w: {"title": "改名"}),
        writers(),
    ),
    Endpoint(
        "POST",
        "/api/v1/estate-rules/<int:rules_id>/publish",
        _to(lambda w: f"{R}/{w.draft}/publish", lambda w: {}),
        writers(),
    ),
    Endpoint(
        "POST",
        "/api/v1/estate-rules/<int:rules_id>/withdraw",
        _to(lambda w: f"{R}/{w.published}/withdraw"),
        writers(),
    ),
    Endpoint(
        "PUT",
        "/api/v1/estate-rules/<int:rules_id>/decision",
        _to(
            lambda w: f"{R}/{w.published}/decision",
            lambda w: {"consultation_id": w.decisions["passed_2"]},
        ),
        writers(),
    ),
    Endpoint("POST", "/api/v1/estate-rules/<int:rules_id>/result", _linked, writers()),
    Endpoint(
        "GET",
        "/api/v1/estate-rules/<int:rules_id>/comments",
        _to(lambda w: f"{R}/{w.published}/comments"),
        readers(),
    ),
    Endpoint(
        "POST",
        "/api/v1/estate-rules/<int:rules_id>/comments",
        _to(lambda w: f"{R}/{w.published}/comments", lambda w: {"body": "赞成"}),
        commenters(),
    ),
    Endpoint(
        "POST",
        "/api/v1/estate-rules/comments/<int:comment_id>/reply",
        _to(lambda w: f"{R}/comments/{w.comment}/reply", lambda w: {"body": "感谢建议"}),
        writers(),
    ),
    Endpoint(
        "POST",
        "/api/v1/estate-rules/comments/<int:comment_id>/hide",
        _to(lambda w: f"{R}/comments/{w.comment}/hide", lambda w: {"reason": "重复"}),
        writers(),
    ),
    Endpoint(
        "POST",
        "/api/v1/estate-rules/comments/<int:comment_id>/restore",
        _to(lambda w: f"{R}/comments/{w.hidden_comment}/restore", lambda w: {"reason": "复核"}),
        writers(),
    ),
]

# Drafts are the staff's: the same reads of a draft answer 404 to the estate's residents.
DRAFT_READS = [
    Endpoint("GET", "draft", _to(lambda w: f"{R}/{w.draft}"), staff_readers()),
    Endpoint("GET", "draft comments", _to(lambda w: f"{R}/{w.draft}/comments"), staff_readers()),
    Endpoint(
        "POST",
        "draft comment",
        _to(lambda w: f"{R}/{w.draft}/comments", lambda w: {"body": "意见"}),
        answers(403, **dict.fromkeys(RESIDENTS, 404)),
    ),
]


@pytest.fixture(scope="module")
def world(app, module_transaction) -> RulesWorld:
    return build_rules_world(app)


@pytest.mark.parametrize(
    ("endpoint", "actor"),
    [pytest.param(e, a, id=f"{e.id} as {a}") for e in ENDPOINTS + DRAFT_READS for a in ACTORS],
)
def test_permission_matrix(app, client, wechat, world, endpoint, actor):
    w = world
    request = endpoint.request(w, client)
    path = request.pop("path")
    before = snapshot(app)

    reply = client.open(path, method=endpoint.method, headers=w.headers[actor], **request)

    wanted = endpoint.answers[actor]
    assert reply.status_code == wanted, (actor, reply.get_data(as_text=True)[:500])
    if wanted >= 400:
        error = refused(app, before, reply, wanted)
        if wanted == 401:
            assert error["code"] == "unauthorized"
        if wanted == 404:
            assert error["code"] in (
                "estate_not_found",
                "rules_not_found",
                "rules_comment_not_found",
            )
    elif endpoint.method == "GET":
        assert snapshot(app) == before, "a read changed something"
    else:
        assert snapshot(app) != before, "a write changed nothing"


def test_the_matrix_lists_every_endpoint(app):
    served = {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("estate_rules.")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert served == {(e.method, e.rule) for e in ENDPOINTS}


def test_unknown_ids_answer_as_out_of_sight_ones(app, client, world):
    w = world
    for path, code in (
        (f"{E}/999999/rules", "estate_not_found"),
        (f"{E}/999999/rules/current", "estate_not_found"),
        (f"{R}/999999", "rules_not_found"),
        (f"{R}/999999/comments", "rules_not_found"),
    ):
        reply = client.get(path, headers=w.headers["prefecture"])
        assert_error_shape(reply, 404, code)
    # An id out of sight and a missing one answer alike, to residents and staff outside.
    for actor in ("resident_out", "clerk_out", "owner"):
        for method, existing, missing, body in (
            ("GET", f"{E}/{w.estate}/rules", f"{E}/999999/rules", None),
            ("GET", f"{R}/{w.published}", f"{R}/999999", None),
            ("GET", f"{R}/{w.published}/comments", f"{R}/999999/comments", None),
            ("POST", f"{R}/{w.published}/comments", f"{R}/999999/comments", {"body": "好"}),
        ):
            headers = w.headers[actor]
            seen = client.open(existing, method=method, json=body, headers=headers)
            unseen = client.open(missing, method=method, json=body, headers=headers)
            assert (seen.status_code, seen.get_json()) == (unseen.status_code, unseen.get_json())


# --- bad input -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Write:
    name: str
    actor: str
    method: str
    path: Callable[[RulesWorld], str]
    body: Callable[[RulesWorld], dict]  # a body that would be accepted
    wrong: tuple  # (field, a value of the wrong type or shape, ...)


WRITES = [
    Write(
        "create",
        "clerk",
        "POST",
        lambda w: f"{E}/{w.estate}/rules",
        lambda w: {"title": "t", "body": "b"},
        (("title", 5), ("body", ["x"]), ("title", "   "), ("title", "x" * 201), ("body", "a\x00b")),
    ),
    Write(
        "patch",
        "clerk",
        "PATCH",
        lambda w: f"{R}/{w.draft}",
        lambda w: {"title": "t"},
        (("title", None), ("body", 1.5), ("body", "b" * 50_001), ("title", {"a": 1})),
    ),
    Write(
        "publish",
        "clerk",
        "POST",
        lambda w: f"{R}/{w.draft}/publish",
        lambda w: {},
        (
            ("comments_close_at", "tomorrow"),
            ("comments_close_at", "2030-01-01T00:00:00"),  # no offset
            ("comments_close_at", "9999-12-31T23:59:59+00:00"),
            ("comments_close_at", 12),
        ),
    ),
    Write(
        "decision",
        "clerk",
        "PUT",
        lambda w: f"{R}/{w.published}/decision",
        lambda w: {"consultation_id": w.decisions["passed_2"]},
        (
            ("consultation_id", "1"),
            ("consultation_id", 1.0),
            ("consultation_id", 0),
            ("consultation_id", 2**63),
            ("consultation_id", None),
        ),
    ),
    Write(
        "comment",
        "resident_in",
        "POST",
        lambda w: f"{R}/{w.published}/comments",
        lambda w: {"body": "好"},
        (("body", ""), ("body", 12), ("body", "x" * 1001), ("body", "\ud800")),
    ),
    Write(
        "reply",
        "clerk",
        "POST",
        lambda w: f"{R}/comments/{w.comment}/reply",
        lambda w: {"body": "好"},
        (("body", ""), ("body", ["x"]), ("body", "x" * 1001)),
    ),
    Write(
        "hide",
        "clerk",
        "POST",
        lambda w: f"{R}/comments/{w.comment}/hide",
        lambda w: {"reason": "重复"},
        (("reason", ""), ("reason", 1), ("reason", "x" * 501)),
    ),
    Write(
        "restore",
        "clerk",
        "POST",
        lambda w: f"{R}/comments/{w.hidden_comment}/restore",
        lambda w: {"reason": "复核"},
        (("reason", None), ("reason", True)),
    ),
]
REQUIRED = {
    "create": ("title", "body"),
    "decision": ("consultation_id",),
    "comment": ("body",),
    "reply": ("body",),
    "hide": ("reason",),
    "restore": ("reason",),
}


def _bad_bodies(write: Write, w: RulesWorld):
    good = write.body(w)
    yield "malformed json", {"data": "{not json", "content_type": "application/json"}
    yield "not an object", {"json": ["title"]}
    yield "unknown field", {"json": {**good, "status": "adopted"}}
    for field, value in write.wrong:
        # Written out by json.dumps, which escapes a lone surrogate as the client would.
        body = json.dumps({**good, field: value})
        yield f"{field}={value!r:.20}", {"data": body, "content_type": "application/json"}
    for field in REQUIRED.get(write.name, ()):
        yield f"without {field}", {"json": {k: v for k, v in good.items() if k != field}}


@pytest.mark.parametrize("write", WRITES, ids=lambda write: write.name)
def test_bad_input_is_refused_with_nothing_written(app, client, wechat, world, write):
    w = world
    for name, kwargs in _bad_bodies(write, w):
        before = snapshot(app)
        reply = client.open(
            write.path(w), method=write.method, headers=w.headers[write.actor], **kwargs
        )
        assert reply.status_code in (400, 422), (name, reply.get_data(as_text=True)[:300])
        refused(app, before, reply, reply.status_code)
    assert wechat.checked == [], "bad input never reaches WeChat"


@pytest.mark.parametrize(
    "path",
    [
        lambda w: f"{E}/{w.estate}/rules?page=0",
        lambda w: f"{E}/{w.estate}/rules?per_page=101",
        lambda w: f"{R}/{w.published}/comments?page=x",
        lambda w: f"{R}/{w.published}/comments?per_page=-1",
    ],
)
def test_bad_paging_is_refused(client, world, path):
    reply = client.get(path(world), headers=world.headers["clerk"])
    assert_error_shape(reply, 422)


def test_ids_out_of_range_in_paths_answer_404(app, client, world):
    for path in (f"{R}/99999999999999999999", f"{E}/99999999999999999999/rules"):
        reply = client.get(path, headers=world.headers["clerk"])
        assert reply.status_code == 404
