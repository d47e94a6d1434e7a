"""The permission matrix of the projects and voting API (issue 3): every endpoint against every
kind of caller.

Each row says what each caller of `tests.support.voting_world.ACTORS` gets: anonymous → 401; a resident
of another estate, a resident whose claim is still pending, the clerk of another community and
the owner of another project → 404 where the project is not theirs to know of (with the code of
the id the path names, as for an id that does not exist: issue 9, item 15), else 403; the
allowed roles → 2xx. A refused call is in the one error shape and leaves every table as it was.
`test_matrix_lists_every_voting_endpoint` fails when a route under /projects, /consultations or
/counties/{id}/overview exists without a row here, so a new endpoint cannot forget its check;
only the blueprints of other issues named in OTHER_MATRICES, whose own matrices list their routes
under /projects/{id}/, are left to those.

Ballots are secret: the last tests walk every reply a staff member can get about a consultation
and find no household's choice in it, only counts.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.voting_helpers import run_jobs
from tests.support.voting_world import (
    ACTORS,
    ALLOWED,
    REFUSED,
    World,
    assert_error_shape,
    build_world,
    consultation_in,
    diff,
    put_ballot,
    snapshot,
)


def _answers(**by_actor: int) -> dict[str, int]:
    assert set(by_actor) == set(ACTORS), set(ACTORS) ^ set(by_actor)
    return by_actor


def visible(ok: int = 200) -> dict[str, int]:
    """Reads of a project and its consultations: its residents and the staff in scope.

    Residents outside the project's estates and staff outside its scope get 404, as for an id
    that does not exist, so that ids of other projects do not leak."""
    return _answers(
        anonymous=401,
        resident_other_estate=404,
        resident_unverified=404,
        clerk_other_community=404,
        owner_other_project=404,
        resident_member=ok,
        clerk=ok,
        owner=ok,
        county_officer=ok,
        prefecture=ok,
    )


RESIDENTS_REFUSED = {
    "resident_member": 403,
    "resident_other_estate": 403,
    "resident_unverified": 403,
}


def managed(ok: int) -> dict[str, int]:
    """Plans, details, lifecycle: the project's owner, its county, the prefecture; residents 403
    (staff only, whatever the id)."""
    return {**visible(ok), **RESIDENTS_REFUSED, "clerk": 403}


def run_by_staff(ok: int) -> dict[str, int]:
    """Consultations: the committees of the covered communities, and those who manage."""
    return {**visible(ok), **RESIDENTS_REFUSED}


def organised(ok: int) -> dict[str, int]:
    """Opening and closing a plan satisfaction consultation (or an owners' decision): the
    committees of the covered communities, the county, the prefecture; the owner drafts it and
    reads its results but does not run the vote on its own plan (403; issue 10)."""
    return {**run_by_staff(ok), "owner": 403}


def residents_only(ok: int) -> dict[str, int]:
    """A household's own ballot: its verified members; residents outside the project's estates
    404 (the consultation is not theirs to know of); staff 403 (residents only)."""
    staff = {actor: 403 for actor in ACTORS if actor not in ("anonymous",)}
    outside = {"resident_other_estate": 404, "resident_unverified": 404}
    return {**staff, **outside, "anonymous": 401, "resident_member": ok}


@dataclass
class Endpoint:
    method: str
    rule: str  # the Flask rule, as `app.url_map` spells it
    state: str  # the consultation the call needs: none, draft, open, voted, closed
    answers: dict[str, int]
    body: Callable[[World], dict] | None = None
    codes: dict[str, str] = field(default_factory=dict)  # actor -> expected error code
    # A body that depends on who sends it (a paper ballot names the sender's own upload).
    actor_body: Callable[[World, str], dict] | None = None
    # A list of what the caller sees: staff outside the scene's scope get their own (200),
    # not a refusal (what it holds: tests/voting/test_project_list.py).
    scoped_list: bool = False

    @property
    def id(self) -> str:
        return f"{self.method} {self.rule.removeprefix('/api/v1')}"

    @property
    def not_found(self) -> str:
        """The code of a missing id of the path: the consultation's, else the project's."""
        return "consultation_not_found" if self.rule.startswith(C) else "project_not_found"

    def path(self, w: World, consultation_id: int | None) -> str:
        values = {
            "project_id": w.project_id,
            "estate_id": w.scene.estate_id,
            "county_id": w.scene.county_id,
            "consultation_id": consultation_id,
        }
        return re.sub(r"<int:(\w+)>", lambda m: str(values[m.group(1)]), self.rule)


P = "/api/v1/projects/<int:project_id>"
C = "/api/v1/consultations/<int:consultation_id>"


def _new_project(w: World) -> dict:
    return {
        "name": "新项目",
        "estate_ids": [w.scene.estate_id],
        "category": "basic",
        "plan_year": 2028,
    }


def _plan(w: World) -> dict:
    return {"items": [{"category": "parking", "description": "停车位", "estimated_cost": 2000}]}


def _paper(w: World, actor: str) -> dict:
    """The sender's own upload as evidence (the world has one for each staff member who sees
    the project; others are refused before the evidence is looked at)."""
    return {
        "household_id": w.scene.household_ids[3],
        "choice": "satisfied",
        "evidence_upload_id": w.uploads.get(actor, w.uploads["clerk"]),
    }


_STAFF_ONLY = {"resident_member": "staff_only", "resident_other_estate": "staff_only"}
_RESIDENTS_ONLY = {"clerk": "residents_only", "prefecture": "residents_only"}
_ORGANISERS_ONLY = {**_STAFF_ONLY, "owner": "organised_by_community"}

ENDPOINTS = [
    Endpoint(
        "POST",
        "/api/v1/projects",
        "none",
        {**managed(201), "clerk_other_community": 403, "owner_other_project": 403, "owner": 403},
        _new_project,
        {**_STAFF_ONLY, "owner": "out_of_scope", "clerk": "out_of_scope"},
    ),
    Endpoint(
        "GET",
        "/api/v1/projects",
        "none",
        # Staff only; every staff member gets their list (others' projects left out of it,
        # tests/voting/test_project_list.py), residents 403.
        {
            **visible(),
            **RESIDENTS_REFUSED,
            **{a: 200 for a in ("clerk_other_community", "owner_other_project")},
        },
        codes={a: "staff_only" for a in RESIDENTS_REFUSED},
        scoped_list=True,
    ),
    Endpoint("GET", P, "none", visible()),
    Endpoint("PATCH", P, "none", managed(200), lambda w: {"name": "改名"}, _STAFF_ONLY),
    Endpoint(
        "GET",
        "/api/v1/estates/<int:estate_id>/projects",
        "none",
        {
            **visible(),
            # An estate is no secret (residents pick theirs from the list): refused, not hidden.
            "resident_other_estate": 403,
            "resident_unverified": 403,
            "clerk_other_community": 403,
            "owner_other_project": 403,
            "owner": 403,  # an owner's grant covers one project, not the estate's list
        },
        codes={"resident_unverified": "not_resident_of_estate", "owner": "out_of_scope"},
    ),
    Endpoint("POST", f"{P}/plans", "none", managed(201), _plan, _STAFF_ONLY),
    Endpoint("GET", f"{P}/plans", "none", visible()),
    Endpoint("GET", f"{P}/plans/current", "none", visible()),
    Endpoint(
        "POST",
        f"{P}/transitions",
        "none",
        managed(200),
        lambda w: {"to": "approved"},
        {**_STAFF_ONLY, "clerk": "out_of_scope"},
    ),
    Endpoint("GET", f"{P}/gate", "voted", visible()),
    Endpoint(
        "GET",
        "/api/v1/counties/<int:county_id>/overview",
        "voted",
        {
            **managed(200),
            "clerk_other_community": 403,
            "owner_other_project": 403,
            "owner": 403,  # the county's officers and the prefecture only
        },
        codes={**_STAFF_ONLY, "clerk": "out_of_scope", "owner": "out_of_scope"},
    ),
    Endpoint(
        "GET",
        "/api/v1/overview",
        "voted",
        {
            **managed(200),
            "clerk_other_community": 403,
            "owner_other_project": 403,
            "owner": 403,
            "county_officer": 403,  # the prefecture only: an officer reads their county's
        },
        codes={
            **_STAFF_ONLY,
            **{a: "out_of_scope" for a in ("clerk", "owner", "county_officer")},
            **{a: "out_of_scope" for a in ("clerk_other_community", "owner_other_project")},
        },
    ),
    Endpoint("GET", f"{P}/consultations", "draft", visible()),
    Endpoint(
        "POST",
        f"{P}/consultations",
        "none",
        run_by_staff(201),
        lambda w: {"kind": "plan_satisfaction", "plan_id": w.scene.plan_id},
        _STAFF_ONLY,
    ),
    Endpoint("GET", C, "open", visible()),
    Endpoint("POST", f"{C}/open", "draft", organised(200), codes=_ORGANISERS_ONLY),
    Endpoint("POST", f"{C}/close", "elapsed", organised(200), codes=_ORGANISERS_ONLY),
    Endpoint(
        "PUT",
        f"{C}/ballot",
        "open",
        residents_only(200),
        lambda w: {"choice": "satisfied"},
        _RESIDENTS_ONLY,
    ),
    Endpoint("GET", f"{C}/ballot", "voted", residents_only(200), codes=_RESIDENTS_ONLY),
    Endpoint("GET", f"{C}/turnout", "voted", visible()),
    Endpoint(
        "POST",
        f"{C}/paper-ballots",
        "open",
        {**run_by_staff(201), "owner": 403},  # paper ballots are the committee's to record
        codes={**_STAFF_ONLY, "owner": "out_of_scope"},
        actor_body=_paper,
    ),
    Endpoint("GET", f"{C}/tally", "closed", visible()),
    Endpoint(
        "GET",
        f"{C}/non-voters",
        "voted",
        # Whom to visit: the committee of the households' community, the county, the
        # prefecture; not the owner, whose plan is voted on.
        {**run_by_staff(200), "owner": 403},
        codes={**_STAFF_ONLY, "owner": "out_of_scope"},
    ),
    Endpoint(
        "GET",
        f"{C}/turnout/grid",
        "voted",
        # The floor grid of whom to visit: as the non-voters list.
        {**run_by_staff(200), "owner": 403},
        codes={**_STAFF_ONLY, "owner": "out_of_scope"},
    ),
]


def test_matrix_rows_are_complete():
    ids = [e.id for e in ENDPOINTS]
    assert len(ids) == len(set(ids)), "an endpoint is listed twice"
    for endpoint in ENDPOINTS:
        assert set(endpoint.answers) == set(ACTORS), endpoint.id
        assert endpoint.answers["anonymous"] == 401, endpoint.id
        refused = [a for a in REFUSED[1:] if not (endpoint.scoped_list and a.startswith("clerk"))]
        refused = [a for a in refused if not (endpoint.scoped_list and a.startswith("owner"))]
        assert all(endpoint.answers[a] in (403, 404) for a in refused), endpoint.id
        assert any(200 <= endpoint.answers[a] < 300 for a in ALLOWED), endpoint.id
        assert set(endpoint.codes) <= set(ACTORS), endpoint.id


@pytest.fixture(scope="module")
def world(app, module_make) -> World:
    """The world, built once for the module; each test rolls back to it."""
    return build_world(app, module_make)


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.id)
def test_permission_matrix(app, client, make, world, endpoint: Endpoint, actor: str):
    w = world
    consultation_id = consultation_in(app, client, w, endpoint.state)
    path = endpoint.path(w, consultation_id)
    expected = endpoint.answers[actor]
    before = snapshot(app)

    kwargs = {"headers": w.headers[actor]}
    if endpoint.body is not None:
        kwargs["json"] = endpoint.body(w)
    if endpoint.actor_body is not None:
        kwargs["json"] = endpoint.actor_body(w, actor)
    reply = client.open(path, method=endpoint.method, **kwargs)
    run_jobs(app)

    assert reply.status_code == expected, (actor, reply.get_json())
    if expected >= 400:
        error = assert_error_shape(reply)
        if actor in endpoint.codes:
            assert error["code"] == endpoint.codes[actor], error
        elif expected == 401:
            assert error["code"] == "unauthorized", error
        elif expected == 404:  # not theirs to know of: answered as a missing id
            assert error["code"] == endpoint.not_found, error
        after = snapshot(app)
        assert after == before, f"a refused call wrote: {diff(before, after)}"
    else:
        assert reply.mimetype == "application/json"


# --- the guard: no endpoint without a row ----------------------------------------------------

GUARDED = re.compile(
    r"^/api/v1/(projects|consultations)(/|$)"
    r"|^/api/v1/counties/<[^>]+>/overview$"
    r"|^/api/v1/overview$"
    r"|^/api/v1/estates/<[^>]+>/projects$"
)
ISSUE_3_BLUEPRINTS = {"projects", "voting"}
# Blueprints of other issues that serve paths under /projects/{id}/: their own matrices list
# them (and guard those blueprints). A blueprint not named here gets no such pass.
OTHER_MATRICES = {
    "supervision": "tests/feedback/test_permissions.py",
    "feedback": "tests/feedback/test_permissions.py",
    "comments": "tests/feedback/test_permissions.py",
    "progress": "tests/feedback/test_permissions.py",
    "delegations": "tests/voting/test_owners.py",
    "opinions": "tests/voting/test_opinions.py",
    "exports": "tests/voting/test_exports.py",  # the files staff download (issue 13)
    # residents' contributions (issue 15): schemes, and entries with the project's spending
    "contributions": "tests/contributions/test_permissions_schemes.py",
    "payments": "tests/contributions/test_permissions_entries.py",
}


def voting_routes(app) -> set[tuple[str, str]]:
    """(method, rule) of every route this matrix must list: all of the projects and voting
    blueprints, and whatever else lies on their paths outside the blueprints of OTHER_MATRICES."""
    found = set()
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.rpartition(".")[0]
        ours = blueprint in ISSUE_3_BLUEPRINTS or (
            GUARDED.search(rule.rule) and blueprint not in OTHER_MATRICES
        )
        if ours:
            found |= {(method, rule.rule) for method in rule.methods - {"HEAD", "OPTIONS"}}
    return found


def test_matrix_lists_every_voting_endpoint(app):
    listed = {(e.method, e.rule) for e in ENDPOINTS}
    registered = voting_routes(app)
    missing = registered - listed
    assert not missing, f"routes without a row in the permission matrix: {sorted(missing)}"
    stale = listed - registered
    assert not stale, f"matrix rows for routes that do not exist: {sorted(stale)}"


def test_routes_left_to_other_matrices_have_one(app):
    root = Path(__file__).resolve().parents[2]
    for blueprint, matrix in OTHER_MATRICES.items():
        assert (root / matrix).is_file(), f"{blueprint}: {matrix} is gone"
        assert blueprint in (root / matrix).read_text(encoding="utf-8"), (blueprint, matrix)


# --- secrecy: staff see counts, never a household's choice -----------------------------------

CHOICE_WORDS = {"satisfied", "unsatisfied", "abstain", "agree", "disagree", "picked"}
SECRET_KEYS = {"choice", "item_opinions", "comment", "picks"}


def _walk(value, path="$"):
    """Every (path, key, value) in a JSON document."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield path, key, item
            yield from _walk(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk(item, f"{path}[{i}]")


def _strings(value) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set().union(*(_strings(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_strings(v) for v in value)) if value else set()
    return set()


def assert_no_choice(reply_json, where: str, receipts: set[str] = frozenset()):
    """No key that carries a ballot's content, no choice word as a value, and no receipt
    next to anything that could be a choice."""
    for path, key, _ in _walk(reply_json):
        assert key not in SECRET_KEYS, f"{where}: {path}.{key} is shown to staff"
    leaked = _strings(reply_json) & CHOICE_WORDS
    assert not leaked, f"{where}: a choice is shown to staff: {leaked}"
    if receipts:
        assert not (_strings(reply_json) & receipts), f"{where}: receipts are shown with choices"


def _aggregate(weights: dict) -> None:
    assert set(weights) == {"households", "persons", "floor_area"}, weights
    assert all(isinstance(v, int | float) for v in weights.values()), weights


@pytest.mark.parametrize("actor", ["clerk", "owner", "county_officer", "prefecture"])
def test_staff_replies_never_show_a_households_choice(app, client, make, world, monkeypatch, actor):
    w = world
    # The three ballots are enough for staff to see the live counts here (RESULTS_MIN_BALLOTS;
    # below it they see participation only: test_visibility.py).
    monkeypatch.setitem(app.config, "RESULTS_MIN_BALLOTS", 3)
    cid = consultation_in(app, client, w, "voted")
    headers = w.headers[actor]
    receipts = set()
    for i in (0, 1):
        mine = client.get(f"/api/v1/consultations/{cid}/ballot", headers=w.members[i])
        receipts.add(mine.get_json()["receipt"])

    # The turnout list: who took part (masked) and their receipts, never what they chose.
    turnout = client.get(f"/api/v1/consultations/{cid}/turnout", headers=headers)
    assert turnout.status_code == 200
    rows = turnout.get_json()["items"]
    assert len(rows) == 3 and receipts <= {row["receipt"] for row in rows}
    for row in rows:
        assert set(row) == {
            "receipt",
            "household",
            "channel",
            "channel_label",
            "delegated",
            "voted_on",
        }, row
    assert_no_choice(turnout.get_json(), "turnout")

    # The tally and the gate: counts by choice, no household, no receipt.
    tally = client.get(f"/api/v1/consultations/{cid}/tally", headers=headers)
    assert tally.status_code == 200
    figures = tally.get_json()["figures"]
    assert set(figures["by_choice"]) == {"satisfied", "unsatisfied", "abstain"}
    for weights in figures["by_choice"].values():
        _aggregate(weights)
    _aggregate(figures["voted"])
    assert not (_strings(tally.get_json()) & receipts)
    for path, key, _ in _walk(tally.get_json()):
        assert key not in SECRET_KEYS | {"household_id", "receipt"}, f"tally: {path}.{key}"
    gate = client.get(f"/api/v1/projects/{w.project_id}/gate", headers=headers)
    assert gate.status_code == 200
    assert not (_strings(gate.get_json()) & receipts)
    for path, key, _ in _walk(gate.get_json()):
        assert key not in SECRET_KEYS | {"household_id", "receipt"}, f"gate: {path}.{key}"

    # The consultation and the project: no ballot at all.
    for url in (
        f"/api/v1/consultations/{cid}",
        f"/api/v1/projects/{w.project_id}/consultations",
        f"/api/v1/projects/{w.project_id}",
    ):
        reply = client.get(url, headers=headers)
        assert reply.status_code == 200
        assert_no_choice(
            {k: v for k, v in _drop_labels(reply.get_json()).items()}, url, receipts=receipts
        )

    # A household's ballot itself is the household's alone.
    assert_error_shape(
        client.get(f"/api/v1/consultations/{cid}/ballot", headers=headers), 403, "residents_only"
    )


def _drop_labels(reply):
    """A consultation names its possible choices (`choices`, `choice_labels`): the question,
    not anyone's answer. Remove them before looking for answers."""
    if "items" in reply and "total" in reply:  # a page of consultations
        return {**reply, "items": [_drop_labels(item) for item in reply["items"]]}
    cleaned = {k: v for k, v in reply.items() if k not in ("choices", "choice_labels")}
    if "open_consultations" in cleaned:
        cleaned["open_consultations"] = [_drop_labels(c) for c in cleaned["open_consultations"]]
    return cleaned


def test_a_paper_ballot_receipt_does_not_echo_the_choice(app, client, make, world):
    w = world
    cid = consultation_in(app, client, w, "open")
    for actor in ("clerk", "county_officer", "prefecture"):
        reply = client.post(
            f"/api/v1/consultations/{cid}/paper-ballots",
            json={
                "household_id": w.scene.household_ids[3],
                "choice": "unsatisfied",
                "channel": "assisted",
                "assisted_by": "李四（邻居）",
                "evidence_upload_id": w.uploads[actor],
            },
            headers=w.headers[actor],
        )
        assert reply.status_code == 201, reply.get_json()
        assert set(reply.get_json()) == {"receipt", "household_id", "updated_at"}
        assert_no_choice(reply.get_json(), f"paper ballot receipt ({actor})")


def test_residents_see_the_tally_only_once_the_consultation_is_closed(app, client, make, world):
    w = world
    cid = consultation_in(app, client, w, "voted")
    early = client.get(f"/api/v1/consultations/{cid}/tally", headers=w.headers["resident_member"])
    assert_error_shape(early, 403, "results_not_published")
    assert (
        client.get(f"/api/v1/consultations/{cid}/tally", headers=w.headers["clerk"]).status_code
        == 200
    )


def test_a_resident_cannot_read_another_households_ballot(app, client, make, world):
    """GET /ballot answers the caller's own household; a neighbour who has not voted gets
    404 even though another household of the estate has."""
    w = world
    cid = consultation_in(app, client, w, "voted")
    neighbour = client.get(f"/api/v1/consultations/{cid}/ballot", headers=w.members[3])
    assert_error_shape(neighbour, 404, "ballot_not_found")
    # Naming another household in a ballot is refused, and writes nothing.
    before = snapshot(app)
    reply = put_ballot(
        client, w.members[3], cid, choice="unsatisfied", household_id=w.scene.household_ids[0]
    )
    error = assert_error_shape(reply, 403, "not_eligible")
    assert error["details"] == {"reason": "not_member_of_household"}
    assert snapshot(app) == before
