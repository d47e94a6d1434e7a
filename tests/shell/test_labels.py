"""Every enumeration a reply shows carries its Chinese label (issue 12, screen 4): a code field
`status` has a sibling `status_label`, a list of codes `aspects` a sibling `aspects_labels`, read
from `api/core/labels.py`. Checked on the served OpenAPI document (so that a new reply field
cannot forget its label), on the schemas (the label's table names every code the field may
hold) and on real replies."""

from __future__ import annotations

import re

import marshmallow as ma
import pytest
from marshmallow import class_registry, fields

from api.core import labels
from tests.support.feedback_world import World, build_world
from tests.support.voting_helpers import build_scene, resident

CJK = re.compile(r"[\u4e00-\u9fff]")

# Reply fields that hold a code by their name, whether or not the schema lists its values.
CODE_NAMES = {
    "aspects",
    "basis",
    "by",
    "categories",
    "category",
    "channel",
    "choice",
    "choices",
    "days_available",
    "delegate_relation",
    "gate_basis",
    "kind",
    "matter",
    "opinion",
    "relation",
    "results_hidden",
    "role",
    "rule",
    "severity",
    "source",
    "status",
    "verdict",
}
# (schema, field) of those names that are text for people, not codes.
NOT_CODES = {
    ("Gate", "rule"),  # the rule of the gate, written out in Chinese
    ("Completion", "rule"),  # how the completion satisfaction is computed, in Chinese
}
# Codes for the program, never shown to people: a file's MIME type.
FOR_THE_PROGRAM = {"content_type"}


@pytest.fixture(scope="module")
def openapi(app) -> dict:
    return app.test_client().get("/api/openapi.json").get_json()


def _ref_name(node: dict) -> str | None:
    return node["$ref"].rsplit("/", 1)[1] if "$ref" in node else None


def reply_schemas(spec: dict):
    """(name, schema) of every object schema a 2xx reply of the document may hold, nested ones
    included: components by name, inline ones by where they are."""
    seen, todo = set(), []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "put", "post", "patch", "delete"):
                continue
            for status, response in operation.get("responses", {}).items():
                if not status.startswith("2"):
                    continue
                for media in response.get("content", {}).values():
                    todo.append((f"{method.upper()} {path} {status}", media.get("schema", {})))
    while todo:
        where, node = todo.pop()
        name = _ref_name(node)
        if name is not None:
            if name in seen:
                continue
            seen.add(name)
            where, node = name, spec["components"]["schemas"][name]
        for key in ("allOf", "anyOf", "oneOf"):
            todo.extend((where, part) for part in node.get(key, []))
        if isinstance(node.get("items"), dict):
            todo.append((where, node["items"]))
        if isinstance(node.get("additionalProperties"), dict):
            todo.append((where, node["additionalProperties"]))
        for prop, value in node.get("properties", {}).items():
            todo.append((f"{where}.{prop}", value))
        if node.get("properties"):
            yield where, node


def _is_list(prop: dict) -> bool:
    return prop.get("type") == "array"


def _holds_codes(prop: dict) -> bool:
    return "enum" in prop or "enum" in (prop.get("items") or {})


def _is_text(prop: dict) -> bool:
    if _is_list(prop):
        return (prop.get("items") or {}).get("type") == "string"
    return prop.get("type") == "string" and "format" not in prop


def test_the_walk_reaches_the_replies_it_should(openapi):
    names = {name for name, _ in reply_schemas(openapi)}
    assert {"Consultation", "Ticket", "TicketEvent", "Project", "Notice", "MyBallot"} <= names
    assert "ProjectArgs" not in names  # a request body is not a reply


def test_every_code_in_a_reply_has_its_chinese_label_beside_it(openapi):
    """An enum property (or a property named as codes are) of any reply has `<name>_label`
    (`<name>_labels` for a list) beside it, text (a list of text) as the code is."""
    missing, checked = [], 0
    for where, schema in reply_schemas(openapi):
        properties = schema["properties"]
        for name, prop in properties.items():
            if name.endswith(("_label", "_labels")) or name in FOR_THE_PROGRAM:
                continue
            if (where, name) in NOT_CODES:
                continue
            if not (_holds_codes(prop) or (name in CODE_NAMES and _is_text(prop))):
                continue
            checked += 1
            sibling = f"{name}_labels" if _is_list(prop) else f"{name}_label"
            found = properties.get(sibling)
            if found is None:
                missing.append(f"{where}.{name}: no {sibling}")
            elif _is_list(prop) != _is_list(found) or not _is_text(found):
                missing.append(f"{where}.{sibling}: not text like {name}")
            elif prop.get("nullable") and not found.get("nullable"):
                missing.append(f"{where}.{sibling}: {name} may be null, its label may not")
    assert checked >= 60
    assert missing == []


def _schemas() -> list[ma.Schema]:
    found = []
    for classes in class_registry._registry.values():
        for cls in classes:
            if cls not in {type(s) for s in found}:
                found.append(cls())
    return found


def _enum(field: fields.Field) -> list:
    inner = field.inner if isinstance(field, fields.List) else field
    return [value for value in inner.metadata.get("enum", ()) if value is not None]


def test_each_label_table_names_every_code_its_field_may_hold(app):
    """The label fields (`api.core.codes`) read a table of `api.core.labels` that has a
    Chinese label for every value the code field lists."""
    problems, checked = [], 0
    for schema in _schemas():
        for name, field in schema.fields.items():
            table = getattr(field, "label_table", None)
            if table is None:
                continue
            where = f"{type(schema).__name__}.{name}"
            if not all(isinstance(v, str) and CJK.search(v) for v in table.values()):
                problems.append(f"{where}: a label that is not Chinese")
            coded = schema.fields.get(name.removesuffix("_labels").removesuffix("_label"))
            if coded is None:
                problems.append(f"{where}: no code field beside it")
                continue
            checked += 1
            unnamed = sorted(set(_enum(coded)) - set(table))
            if unnamed:
                problems.append(f"{where}: no label for {unnamed}")
    assert checked >= 60
    assert problems == []


def test_the_domains_enumerations_are_the_label_tables_keys():
    from feedback.models import acceptance, comments, ratings, supervision, tickets
    from notices import models as notice_models
    from participation import models as participation_models
    from voting import models as voting_models

    pairs = [
        (participation_models.STATUSES, labels.PROJECT_STATUSES),
        (participation_models.CATEGORIES, labels.PROJECT_CATEGORIES),
        (participation_models.FUNDING_SOURCES, labels.FUNDING_SOURCES),
        (participation_models.PLAN_ITEM_CATEGORIES, labels.PLAN_ITEM_CATEGORIES),
        (participation_models.ROLES, labels.ROLES),
        (participation_models.RELATIONS, labels.RELATIONS),
        (participation_models.CLAIM_STATUSES, labels.CLAIM_STATUSES),
        (tuple(participation_models.MILESTONES), labels.MILESTONES),
        (voting_models.KINDS, labels.CONSULTATION_KINDS),
        (voting_models.STATUSES, labels.CONSULTATION_STATUSES),
        (voting_models.BASES, labels.BASES),
        (voting_models.GATE_BASES, labels.GATE_BASES),
        (voting_models.RULES, labels.RULES),
        (voting_models.CHANNELS, labels.CHANNELS),
        (voting_models.MATTERS, labels.MATTERS),
        (voting_models.RELATIONS, labels.RELATIONS),
        (voting_models.DELEGATION_STATUSES, labels.DELEGATION_STATUSES),
        (tickets.ASPECTS, labels.ASPECTS),
        (tickets.SEVERITIES, labels.SEVERITIES),
        (tickets.SOURCES, labels.TICKET_SOURCES),
        (tickets.TICKET_STATUSES, labels.TICKET_STATUSES),
        (tickets.EVENT_KINDS, labels.TICKET_EVENT_KINDS),
        (supervision.SIGNUP_STATUSES, labels.SIGNUP_STATUSES),
        (supervision.WEEKDAYS, labels.WEEKDAYS),
        (ratings.DIMENSIONS, labels.RATING_DIMENSIONS),
        (comments.COMMENT_STATUSES, labels.COMMENT_STATUSES),
        (acceptance.PARTY_ROLES, labels.PARTY_ROLES),
        (acceptance.VERDICTS, labels.VERDICTS),
        (notice_models.CATEGORIES, labels.NOTICE_CATEGORIES),
        (notice_models.STATUSES, labels.NOTICE_STATUSES),
        (notice_models.TARGET_KINDS, labels.NOTICE_TARGET_KINDS),
    ]
    for enumeration, table in pairs:
        assert tuple(enumeration) == tuple(table), enumeration
    # The ballot's CHECK keeps the migration's order; the same answers either way.
    assert set(voting_models.ALL_CHOICES) == set(labels.BALLOT_CHOICES)


# --- on real replies -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(app, module_transaction) -> World:
    return build_world(app)


def test_a_project_shows_its_codes_in_chinese(client, world):
    reply = client.get(f"/api/v1/projects/{world.construction}", headers=world.headers["owner"])
    assert reply.status_code == 200, reply.get_json()
    project = reply.get_json()
    assert (project["status"], project["status_label"]) == ("construction", "施工中")
    assert project["category_label"] == labels.PROJECT_CATEGORIES[project["category"]]
    items = project["current_plan"]["items"]
    assert [(i["category"], i["category_label"]) for i in items] == [("lighting", "照明设施")]
    created = client.post(
        "/api/v1/projects",
        json={
            "name": "丙小区改造",
            "estate_ids": [world.estate],
            "category": "improvement",
            "plan_year": 2027,
            "funding": [{"source": "maintenance_fund", "amount": "100.00"}],
        },
        headers=world.headers["county_officer"],
    )
    assert created.status_code == 201, created.get_json()
    new = created.get_json()
    assert (new["status_label"], new["category_label"]) == ("项目储备", "完善类")
    assert [(f["source"], f["source_label"]) for f in new["funding"]] == [
        ("maintenance_fund", "专项维修资金")
    ]
    kinds = [(m["kind"], m["kind_label"]) for m in new["milestones"]]
    assert kinds == list(labels.MILESTONES.items())


def test_tickets_and_sign_ups_show_their_codes_in_chinese(client, world):
    h = world.headers
    ticket = client.get(f"/api/v1/tickets/{world.ticket_answered}", headers=h["supervisor"])
    assert ticket.status_code == 200, ticket.get_json()
    shown = ticket.get_json()
    assert shown["aspects_labels"] == [labels.ASPECTS[a] for a in shown["aspects"]]
    assert shown["aspects_labels"] and CJK.search(shown["aspects_labels"][0])
    assert (shown["source"], shown["source_label"]) == ("inspection", "监督员巡查")
    assert shown["severity_label"] == labels.SEVERITIES[shown["severity"]]
    assert (shown["status"], shown["status_label"]) == ("answered", "已答复")
    steps = [(e["kind_label"], e["by_label"]) for e in shown["events"]]
    assert steps[:2] == [("提交", "反映人"), ("答复", "工作人员")], steps
    roster = client.get(
        f"/api/v1/projects/{world.construction}/supervisors", headers=h["clerk"]
    ).get_json()["items"]
    accepted = next(s for s in roster if s["status"] == "accepted")
    assert accepted["status_label"] == "已通过"
    assert accepted["days_available_labels"] == ["周一", "周三"]


def test_a_needs_survey_and_its_ballot_show_their_options_in_chinese(app, client, make):
    """The default options are plan item categories, each with its label; an option the
    clerk wrote is its own label. The ballot and the count label the picked items."""
    scene = build_scene(app, households=2)
    clerk = make.headers(scene.clerk)
    created = client.post(
        f"/api/v1/projects/{scene.project_id}/consultations",
        json={"kind": "needs_survey", "options": ["elevator", "parking", "楼道刷新"]},
        headers=clerk,
    )
    assert created.status_code == 201, created.get_json()
    consultation = created.get_json()
    assert consultation["options_labels"] == ["加装电梯", "停车设施", "楼道刷新"]
    assert (consultation["kind_label"], consultation["status_label"]) == ("改造需求调查", "未开始")
    assert consultation["choices"] == [] and consultation["choices_labels"] == []
    cid = consultation["id"]
    assert client.post(f"/api/v1/consultations/{cid}/open", headers=clerk).status_code == 200
    voter = make.headers(resident(app, scene.resident_ids[0]))
    ballot = client.put(
        f"/api/v1/consultations/{cid}/ballot",
        json={"items": ["楼道刷新", "elevator"]},
        headers=voter,
    )
    assert ballot.status_code == 200, ballot.get_json()
    picked = dict(zip(ballot.get_json()["items"], ballot.get_json()["items_labels"], strict=True))
    assert picked == {"楼道刷新": "楼道刷新", "elevator": "加装电梯"}
    assert ballot.get_json()["choice_label"] == "已勾选"
    mine = client.get(f"/api/v1/consultations/{cid}/ballot", headers=voter).get_json()
    assert (mine["channel"], mine["channel_label"]) == ("wechat", "微信投票")
    assert dict(zip(mine["items"], mine["items_labels"], strict=True)) == picked
    seen = client.get(f"/api/v1/consultations/{cid}", headers=voter).get_json()
    assert seen["status_label"] == "进行中"
    assert (seen["eligibility"]["reason"], seen["eligibility"]["reason_label"]) == (None, None)


def test_a_plan_satisfaction_ballot_shows_its_choice_and_opinions_in_chinese(app, client, make):
    scene = build_scene(app, households=2)
    clerk = make.headers(scene.clerk)
    created = client.post(
        f"/api/v1/projects/{scene.project_id}/consultations",
        json={"kind": "plan_satisfaction", "plan_id": scene.plan_id},
        headers=clerk,
    )
    consultation = created.get_json()
    assert consultation["choices_labels"] == ["满意", "不满意", "弃权"]
    assert consultation["basis_label"] == labels.BASES[consultation["basis"]]
    assert consultation["gate_basis_label"] == labels.GATE_BASES[consultation["gate_basis"]]
    assert (consultation["rule"], consultation["rule_label"]) == (None, None)
    cid = consultation["id"]
    assert client.post(f"/api/v1/consultations/{cid}/open", headers=clerk).status_code == 200
    plan = client.get(
        f"/api/v1/projects/{scene.project_id}/plans/current", headers=clerk
    ).get_json()
    item = str(plan["items"][0]["id"])
    voter = make.headers(resident(app, scene.resident_ids[0]))
    ballot = client.put(
        f"/api/v1/consultations/{cid}/ballot",
        json={"choice": "unsatisfied", "item_opinions": {item: {"opinion": "oppose"}}},
        headers=voter,
    )
    assert ballot.status_code == 200, ballot.get_json()
    assert ballot.get_json()["choice_label"] == "不满意"
    mine = client.get(f"/api/v1/consultations/{cid}/ballot", headers=voter).get_json()
    assert mine["item_opinions"] == {item: {"opinion": "oppose", "opinion_label": "反对"}}
    gate = client.get(f"/api/v1/projects/{scene.project_id}/gate", headers=clerk).get_json()
    assert (gate["reason"], gate["reason_label"]) == ("consultation_open", "满意度征询尚未结束")
    assert (gate["results_hidden"], gate["results_hidden_label"]) == (
        "too_few_ballots",
        "投票户数较少，暂不公布结果",
    )
    assert "by_choice" not in gate["figures"] and "by_choice_labels" not in gate["figures"]
