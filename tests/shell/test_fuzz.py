"""Fuzzing: schemathesis drives every operation of `/api/openapi.json` through the app (WSGI,
in-process, no server) as staff and as residents, and every reply must keep the document's
promises.

- The world is the supervision world of `tests/support/feedback_world.py` (a county, community
  and estate with households, verified residents, projects under construction, completed and
  accepted, sign-ups, an upload, tickets, comments, staff of every role) plus a project being
  consulted with an open and a draft consultation, and a published and a draft notice. Ids in
  paths, query strings and bodies are mostly swapped for ids of that world (so that requests
  get past the 404 to the code behind it), sometimes left as generated.
- Each operation gets two phases, derandomized (the same requests on every run):
  - coverage: schemathesis' deterministic cases (each boundary of each input, just inside and
    just outside it; missing and unexpected parameters; undocumented methods), a valid one sent
    by a staff member and by a resident, an invalid one by either in turn, its ids as generated;
  - fuzzing: `EXAMPLES` generated requests for each kind of caller (`staff`, `resident`: the
    token drawn per example from the world's callers of that kind) in schemathesis' positive
    mode (input the document allows) and negative mode (input it forbids).
  Each phase of an operation starts from the same world: its requests run in a transaction
  rolled back after it (`CleanSlate.rolled_back`).
- A reply fails when it is a 5xx (`not_a_server_error`, or an exception the app did not
  handle), does not match its documented schema (`response_schema_conformance`), status
  (`status_code_conformance`: every operation documents `default` as the error shape, so this
  catches a success status it does not list) or content type (`content_type_conformance`), or
  when an error reply is not JSON in the one error shape with a Chinese message. An operation
  that schemathesis cannot generate requests for (an invalid document) fails too.
- Every failure of the run is collected, and the test fails once with all of them grouped by
  operation and kind, one example request each. The figures (requests, operations, statuses,
  failures, time) are printed; `FUZZ_VERBOSE=1` adds the statuses of each operation.

Marked `services`: CI runs it on PostgreSQL + Redis (`scripts/test`); the embedded run skips it.
`test_the_harness_finds_what_it_must` (embedded) shows on a tiny app that each kind of failure
is caught.
"""

from __future__ import annotations

import gc
import json
import os
import random
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import pytest
import schemathesis
from flask import Flask, abort, jsonify
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core import NotSet
from schemathesis.core.failures import FailureGroup
from schemathesis.generation.drivers import CoverageGenerator
from schemathesis.generation.feedback import FeedbackSources
from schemathesis.generation.overrides import Override
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

from api.core import db
from api.extensions import limiter
from devtools import factory
from participation.models import Building, Estate, HouseholdClaim
from tests.support import feedback_world

EXAMPLES = 10  # per operation, kind of caller and generation mode
KNOWN_ID_ODDS = 0.8  # how often an id is swapped for one of the world's
CALLERS = {
    "staff": ("prefecture", "county_officer", "clerk", "owner"),
    "resident": ("supervisor", "resident_member", "supervisor_pending"),
}
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
CHECKS = [
    schemathesis.checks.not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]
# Negative mode would otherwise drop the bearer token (a security parameter) from most
# examples: here each request carries its caller's (the permission tests cover no token).
CONFIG = schemathesis.Config.from_dict({"generation": {"with-security-parameters": False}})
CJK = re.compile(r"[\u4e00-\u9fff]")
ERROR_CODE = re.compile(r"[a-z][a-z0-9_]*")


# --- the world ----------------------------------------------------------------------------------


@dataclass
class FuzzWorld:
    ids: dict  # a parameter or field name (`project_id`, `photo_ids`) -> the world's ids for it
    headers: dict  # caller -> request headers


def build_fuzz_world(app) -> FuzzWorld:
    """The supervision world, a project being consulted, notices (see the module docstring)."""
    w = feedback_world.build_world(app)
    with app.app_context():
        estate = db.session.get(Estate, w.estate)
        consulting = factory.project(w.county, [estate], "甲小区四期", supervisor_cap=10)
        plan = factory.plan(consulting, w.callers["owner"])
        factory.grant(w.callers["owner"], "owner", consulting)
        claim = db.session.scalar(
            select(HouseholdClaim.id).where(HouseholdClaim.status == "pending").limit(1)
        )
        buildings = list(db.session.scalars(select(Building.id).order_by(Building.id)))
        db.session.commit()
        consulting_id, plan_id = consulting.id, plan.id
        db.session.remove()

    client, staff = app.test_client(), w.headers["prefecture"]

    def created(path, body) -> int:
        reply = client.post(path, json=body, headers=staff)
        assert reply.status_code == 201, reply.get_data(as_text=True)
        return reply.get_json()["id"]

    consultations = f"/api/v1/projects/{consulting_id}/consultations"
    ballot = {"kind": "plan_satisfaction", "plan_id": plan_id}
    open_consultation = created(consultations, ballot)
    opened = client.post(f"/api/v1/consultations/{open_consultation}/open", headers=staff)
    assert opened.status_code == 200, opened.get_data(as_text=True)
    draft_consultation = created(consultations, ballot)
    notice = {"category": "general", "title": "停水通知", "body": "明日停水。"}
    published = created("/api/v1/notices", {**notice, "estate_id": w.estate})
    draft = created("/api/v1/notices", {**notice, "community_id": w.community, "draft": True})

    residents = [w.callers[actor] for actor in feedback_world.RESIDENTS_IN]
    projects = [w.construction, w.completed, w.accepted, w.other, consulting_id]
    ids = {
        "county_id": [w.county],
        "community_id": [w.community],
        "estate_id": [w.estate, w.other_estate],
        "estate_ids": [w.estate],
        "building_ids": buildings,
        "household_id": list(w.households.values()),
        "resident_id": residents,
        "claim_id": [claim],
        "staff_id": [w.callers["clerk"], w.callers["owner"]],
        "scope_id": [w.county, w.community, *projects],
        "project_id": projects,
        "plan_id": [w.plan, plan_id],
        "consultation_id": [open_consultation, draft_consultation],
        "signup_id": [w.signup_pending, w.signup_accepted],
        "upload_id": [w.upload],
        "photo_ids": [w.upload],
        "ticket_id": [w.ticket_answered, w.ticket_open],
        "comment_id": [w.comment, w.hidden_comment],
        "parent_id": [w.comment],
        "notice_id": [published, draft],
    }
    return FuzzWorld(ids=ids, headers=w.headers)


def with_known_ids(value, ids: dict, rnd, odds: float = KNOWN_ID_ODDS):
    """`value` (a body, query or path parameters) with its ids swapped for the world's at
    `odds`: an integer (or its text, in a path or query) under a name the world knows, or a
    list of them (`photo_ids`). Values of another type (a negative example's) stay."""
    if isinstance(value, list):
        return [with_known_ids(item, ids, rnd, odds) for item in value]
    if not isinstance(value, dict):
        return value
    swapped = {}
    for name, item in value.items():
        choices = ids.get(name)
        if choices and rnd.random() < odds:
            if _is_id(item):
                item = type(item)(rnd.choice(choices))
            elif isinstance(item, list) and item and all(_is_id(i) for i in item):
                picked = rnd.sample(choices, min(len(item), len(choices)))
                item = [type(i)(c) for i, c in zip(item, picked, strict=False)]
        swapped[name] = with_known_ids(item, ids, rnd, odds)
    return swapped


def _is_id(value) -> bool:
    if isinstance(value, str):
        return value.isascii() and value.isdigit()
    return isinstance(value, int) and not isinstance(value, bool)


# --- what a reply must be -------------------------------------------------------------------


def error_shape_problem(response) -> str | None:
    """Why an error reply is not JSON in the one error shape; None when it is (or no error)."""
    if response.status_code < 400:
        return None
    media = response.headers.get("content-type", [""])[0].split(";")[0].strip()
    if media != "application/json":
        return f"error reply of type {media!r}: {response.content[:120]!r}"
    try:
        body = json.loads(response.content)
    except ValueError:
        return f"error reply is not JSON: {response.content[:120]!r}"
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or set(body) != {"error"}:
        return f"not the error shape: {str(body)[:200]}"
    if set(error) != {"code", "message", "details"}:
        return f"error keys {sorted(error)}"
    if not isinstance(error["code"], str) or not ERROR_CODE.fullmatch(error["code"]):
        return f"error code {error['code']!r}"
    if not isinstance(error["message"], str) or not CJK.search(error["message"]):
        return f"error message not in Chinese: {error['message']!r}"
    if not isinstance(error["details"], dict):
        return f"error details {error['details']!r}"
    return None


# --- the run --------------------------------------------------------------------------------


@dataclass
class Finding:
    operation: str
    kind: str
    status: int  # 0: no request was sent
    detail: str
    request: str


@dataclass
class Run:
    requests: int = 0
    statuses: Counter = field(default_factory=Counter)
    by_operation: dict = field(default_factory=lambda: defaultdict(Counter))
    findings: list[Finding] = field(default_factory=list)
    operations: set = field(default_factory=set)  # those fuzzed without a generation error
    nothing_to_negate: set = field(default_factory=set)

    def report(self, seconds: float) -> str:
        groups = defaultdict(list)
        for finding in self.findings:
            groups[(finding.operation, finding.kind)].append(finding)
        kinds = Counter(finding.kind for finding in self.findings)
        lines = [
            f"fuzz: {self.requests} requests over {len(self.operations)} operations in "
            f"{seconds:.0f} s; statuses {dict(sorted(self.statuses.items()))}; "
            f"{len(self.findings)} failures {dict(kinds)}"
        ]
        if os.environ.get("FUZZ_VERBOSE"):
            for operation, statuses in self.by_operation.items():
                lines.append(f"  {operation}: {dict(sorted(statuses.items()))}")
        for (operation, kind), findings in sorted(groups.items()):
            statuses = sorted({finding.status for finding in findings})
            lines.append(f"- {operation}: {kind} ×{len(findings)} (status {statuses})")
            lines.append(f"    {findings[0].detail}")
            if findings[0].request:
                lines.append(f"    {findings[0].request}")
        return "\n".join(lines)


def _short(text, limit: int = 400) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + "…"


def _request_text(case) -> str:
    query = f"?{case.query}" if case.query else ""
    body = f" body={case.body!r}" if _has_body(case) else ""
    return _short(f"{case.method} {case.formatted_path}{query}{body}", 300)


def _has_body(case) -> bool:
    return not isinstance(case.body, NotSet)


def exchange(
    world: FuzzWorld, case, caller: str, rnd, run: Run, how: str, odds: float = KNOWN_ID_ODDS
) -> None:
    """Send `case` as `caller`, its ids swapped for the world's at `odds`, and check the reply,
    into `run`."""
    label = case.operation.label

    def found(kind: str, status: int, detail: str) -> None:
        detail = f"{how}, {caller}: {_short(detail)}"
        run.findings.append(Finding(label, kind, status, detail, _request_text(case)))

    case.path_parameters = with_known_ids(case.path_parameters, world.ids, rnd, odds)
    case.query = with_known_ids(case.query, world.ids, rnd, odds)
    if _has_body(case):
        case.body = with_known_ids(case.body, world.ids, rnd, odds)
    run.requests += 1
    try:
        # buffered: the reply is read whole and its file (a served upload) closed
        response = case.call(headers=world.headers.get(caller, {}), buffered=True)
    except Exception as exc:  # schemathesis raises what the app did not handle: a 500
        status = 500
        found("Server error (unhandled exception)", status, f"{type(exc).__name__}: {exc}")
    else:
        status = response.status_code
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as group:
            for failure in group.exceptions:
                found(failure.title, status, failure.message)
        problem = error_shape_problem(response)
        if problem:
            found("Error reply not in the error shape", status, problem)
    run.statuses[status] += 1
    run.by_operation[label][status] += 1


def fuzz_operation(world: FuzzWorld, operation, callers, mode, run: Run) -> None:
    """`EXAMPLES` requests of `operation` generated in `mode`, each by one of `callers`."""

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # failures are collected, never shrunk
        suppress_health_check=list(HealthCheck),
    )
    @given(
        case=operation.as_strategy(generation_mode=mode),
        caller=st.sampled_from(callers),
        rnd=st.randoms(use_true_random=False),
    )
    def examples(case, caller, rnd):
        exchange(world, case, caller, rnd, run, f"fuzzing/{mode.value}")

    try:
        examples()
    except Unsatisfiable as exc:
        if mode is GenerationMode.NEGATIVE:
            run.nothing_to_negate.add(operation.label)  # the document forbids nothing to send
        else:
            cannot_generate(operation, exc, run)
        return
    except Exception as exc:  # the document cannot be fuzzed here (e.g. it is invalid)
        cannot_generate(operation, exc, run)
        return
    run.operations.add(operation.label)


def cover_operation(world: FuzzWorld, operation, run: Run) -> None:
    """Schemathesis' coverage cases of `operation` (see the module docstring)."""
    rnd = random.Random(operation.label)
    staff, residents = CALLERS["staff"], CALLERS["resident"]
    cases = CoverageGenerator(
        operation=operation,
        generation_modes=list(MODES),
        generation_config=operation.schema.config.generation_for(
            operation=operation, phase="coverage"
        ),
        auth_storage=None,
        override=Override(),
        feedback=FeedbackSources(),
    )
    try:
        for i, case in enumerate(cases):
            mode = case.meta.generation.mode if case.meta is not None else MODES[1]
            if mode is GenerationMode.POSITIVE:
                callers = (staff[i % len(staff)], residents[i % len(residents)])
                odds = KNOWN_ID_ODDS
            else:  # by either in turn, its ids as generated: the boundaries are what it tries
                callers = ((staff + residents)[i % (len(staff) + len(residents))],)
                odds = 0.0
            generated = (case.path_parameters, case.query, case.body)
            for caller in callers:
                case.path_parameters, case.query, case.body = generated
                exchange(world, case, caller, rnd, run, f"coverage/{mode.value}", odds)
    except Exception as exc:
        cannot_generate(operation, exc, run)


def cannot_generate(operation, exc: Exception, run: Run) -> None:
    run.findings.append(
        Finding(
            operation.label,
            "Cannot generate requests",
            0,
            _short(f"{type(exc).__name__}: {exc}"),
            "",
        )
    )


@pytest.mark.services
def test_every_operation_survives_fuzzing(app, database, wechat, capsys):
    started = time.monotonic()
    world = build_fuzz_world(app)
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app, config=CONFIG)
    operations = [result.ok() for result in schema.get_all_operations()]
    run = Run()
    # Hypothesis and the requests allocate millions of short-lived objects: the collector's full
    # passes need not walk the app, the schema and the libraries loaded so far each time.
    gc.freeze()
    try:
        for operation in operations:
            limiter.reset()
            with database.rolled_back():
                cover_operation(world, operation, run)
            for callers in CALLERS.values():
                for mode in MODES:
                    limiter.reset()
                    with database.rolled_back():
                        fuzz_operation(world, operation, callers, mode, run)
    finally:
        gc.unfreeze()
    text = run.report(time.monotonic() - started)
    with capsys.disabled():
        print("\n" + text)
    assert len(run.operations) == len(operations), text
    assert not run.findings, text


# --- the harness itself -------------------------------------------------------------------------

TINY_SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "tiny", "version": "1"},
    "paths": {
        "/things/{thing_id}": {
            "get": {
                "parameters": [
                    {
                        "name": "thing_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 1},
                    }
                ],
                "responses": {
                    "200": {
                        "description": "a thing",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {"id": {"type": "integer"}},
                                    "required": ["id"],
                                }
                            }
                        },
                    },
                    "default": {
                        "description": "an error",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                },
            }
        }
    },
}


def tiny_app() -> Flask:
    """Thing 1 replies off its schema, thing 2 with an HTML 404, thing 3 with a bare JSON error,
    thing 4 raises; the others are fine."""
    tiny = Flask("tiny")

    @tiny.get("/openapi.json")
    def spec():
        return jsonify(TINY_SPEC)

    @tiny.get("/things/<int:thing_id>")
    def thing(thing_id):
        if thing_id == 1:
            return jsonify({"id": "one"})
        if thing_id == 2:
            abort(404)
        if thing_id == 3:
            return jsonify({"message": "gone"}), 410
        if thing_id == 4:
            raise RuntimeError("boom")
        return jsonify({"id": thing_id})

    return tiny


def test_the_harness_finds_what_it_must():
    schema = schemathesis.openapi.from_wsgi("/openapi.json", tiny_app(), config=CONFIG)
    world = FuzzWorld(ids={"thing_id": [1, 2, 3, 4]}, headers={})
    run = Run()
    fuzz_operation(world, schema["/things/{thing_id}"]["GET"], ("anonymous",), MODES[0], run)
    kinds = {(f.kind, f.status) for f in run.findings}
    assert ("Server error (unhandled exception)", 500) in kinds, run.report(0)
    assert ("Response violates schema", 200) in kinds, run.report(0)
    assert ("Error reply not in the error shape", 404) in kinds, run.report(0)
    assert ("Error reply not in the error shape", 410) in kinds, run.report(0)
    assert run.requests == EXAMPLES and run.operations == {"GET /things/{thing_id}"}
