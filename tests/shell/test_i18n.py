"""A 422's field details are in Chinese (issue 12, screen 4): every message marshmallow and
webargs can give has its translation in `api/core/i18n.py`, read from the installed libraries so
that an upgrade adding one fails here; and real endpoints answer a missing field, a wrong type,
a number out of range, text too long, an unknown field or a bad choice in Chinese, with the
`details.fields` structure (field → list of messages) unchanged."""

from __future__ import annotations

import inspect
import re
import string

import marshmallow as ma
import pytest
import webargs.core
import webargs.fields
import webargs.flaskparser
from marshmallow import fields, validate

from api.core.i18n import MESSAGES, WORDS, localise, translate
from tests.support.feedback_world import World, build_world, refused, snapshot

CJK = re.compile(r"[\u4e00-\u9fff]")
FORMATTER = string.Formatter()


def _field_classes() -> set[type]:
    """Every field class of marshmallow and webargs, the abstract ones too."""
    found, todo = set(), [fields.Field]
    while todo:
        cls = todo.pop()
        if cls not in found:
            found.add(cls)
            todo.extend(cls.__subclasses__())
    for module in (fields, webargs.fields):
        found |= {
            value
            for value in vars(module).values()
            if isinstance(value, type) and issubclass(value, fields.Field)
        }
    return found


def _validator_templates() -> dict[str, str]:
    """Every message template of every validator of marshmallow.validate: `default_message`
    and the `message_*` strings; Range's are built from its bound words at each inclusivity,
    as Range builds them."""
    templates = {}
    for name, cls in vars(validate).items():
        if not (isinstance(cls, type) and issubclass(cls, validate.Validator)):
            continue
        for attribute in dir(cls):
            value = getattr(cls, attribute)
            if attribute in ("default_message",) or attribute.startswith("message_"):
                if isinstance(value, str) and "{min_op}" not in value and "{max_op}" not in value:
                    if cls is not validate.Range:  # Range's words are not messages
                        templates[f"{name}.{attribute}"] = value
    for low in (True, False):
        for high in (True, False):
            bounded = validate.Range(1, 2, min_inclusive=low, max_inclusive=high)
            for attribute in ("message_min", "message_max", "message_all"):
                templates[f"Range.{attribute}({low}, {high})"] = getattr(bounded, attribute)
    return templates


def library_templates() -> dict[str, str]:
    """where -> message template, for every default message of the installed libraries."""
    templates = {}
    for cls in _field_classes():
        for key, message in vars(cls).get("default_error_messages", {}).items():
            templates[f"{cls.__module__}.{cls.__name__}.{key}"] = message
    for key, message in ma.Schema._default_error_messages.items():
        templates[f"Schema.{key}"] = message
    templates.update(_validator_templates())
    templates["webargs.Parser.DEFAULT_VALIDATION_MESSAGE"] = (
        webargs.core.Parser.DEFAULT_VALIDATION_MESSAGE
    )
    source = inspect.getsource(webargs.flaskparser)
    for found in re.findall(r'messages=\{"json": \["([^"]+)"\]\}', source):
        templates[f"webargs.flaskparser: {found}"] = found
    return templates


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in FORMATTER.parse(template) if name is not None}


def _filled(template: str) -> tuple[str, dict]:
    """`template` filled in as the library would, with values a test can find again."""
    values = {name: f"V{index}x" for index, name in enumerate(sorted(_placeholders(template)))}
    text = "".join(
        literal + (values[name] if name is not None else "")
        for literal, name, _, _ in FORMATTER.parse(template)
    )
    return text, values


def test_the_libraries_give_the_messages_this_test_reads():
    """The walk finds what it should, so that the tests below cannot pass on nothing."""
    templates = library_templates()
    assert len(templates) >= 60
    for expected in (
        "Missing data for required field.",
        "Not a valid integer.",
        "Unknown field.",
        "Invalid input type.",
        "Must be one of: {choices}.",
        "Longer than maximum length {max}.",
        "Must be greater than {min} and less than {max}.",
        "Not a valid delimited list.",
        "Invalid JSON body.",
    ):
        assert expected in templates.values(), expected


def test_every_default_message_of_every_field_validator_and_schema_is_translated():
    missing = sorted(
        f"{where}: {message!r}"
        for where, message in library_templates().items()
        if message not in MESSAGES
    )
    assert missing == [], "add these to api/core/i18n.py MESSAGES"


@pytest.mark.parametrize("template", sorted(set(library_templates().values())))
def test_each_message_filled_in_reads_in_chinese_with_its_values(template):
    text, values = _filled(template)
    chinese = translate(text)
    assert chinese != text and CJK.search(chinese), (template, chinese)
    for name, value in values.items():
        if name in _placeholders(MESSAGES[template]):
            assert value in chinese, (template, chinese)


def test_the_words_put_into_placeholders_are_translated_too():
    """A time field's kind and awareness (`Not a valid {awareness} {obj_type}.`)."""
    kinds = {
        cls.OBJ_TYPE for cls in _field_classes() if isinstance(getattr(cls, "OBJ_TYPE", None), str)
    }
    awareness = {
        cls.AWARENESS
        for cls in _field_classes()
        if isinstance(getattr(cls, "AWARENESS", None), str)
    }
    assert kinds == {"datetime", "date", "time"} and awareness == {"aware", "naive"}
    assert kinds | awareness <= set(WORDS)
    for obj_type in kinds:
        chinese = translate(f"Not a valid {obj_type}.")
        assert CJK.search(chinese) and obj_type not in chinese, chinese
        for aware in awareness:
            chinese = translate(f"Not a valid {aware} {obj_type}.")
            assert not re.search(r"aware|naive|datetime|date\b|time\b", chinese), chinese


def test_each_translation_uses_only_the_values_its_message_gives():
    for english, chinese in MESSAGES.items():
        assert CJK.search(chinese), english
        assert _placeholders(chinese) <= _placeholders(english), english


def test_every_entry_is_a_library_message_or_one_filled_in():
    """No translation of a message nobody gives (a stale entry after an upgrade)."""
    templates = set(library_templates().values())
    patterns = [
        re.compile(
            "".join(
                re.escape(lit) + (".+" if name else "") for lit, name, _, _ in FORMATTER.parse(t)
            )
        )
        for t in templates
    ]
    stale = [
        e for e in MESSAGES if e not in templates and not any(p.fullmatch(e) for p in patterns)
    ]
    assert stale == []


def test_localise_keeps_the_structure_and_leaves_chinese_alone():
    own = "回执码应为10位字母或数字（不含 I、L、O、U）"
    messages = {
        "name": ["Missing data for required field."],
        "funding": {0: {"amount": ["Not a valid number."]}},
        "results": {"k": {"value": ["Longer than maximum length 64."]}},
        "receipt": [own],
        "odd": ["Something nobody translated."],
    }
    assert localise(messages) == {
        "name": ["缺少必填项"],
        "funding": {0: {"amount": ["不是有效的数字"]}},
        "results": {"k": {"value": ["长度不能超过64"]}},
        "receipt": [own],
        "odd": ["Something nobody translated."],
    }


# --- on real endpoints ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(app, module_transaction) -> World:
    return build_world(app)


def _project(world: World, **changes) -> dict:
    body = {
        "name": "丙小区改造",
        "estate_ids": [world.estate],
        "category": "basic",
        "plan_year": 2027,
        "funding": [{"source": "government", "amount": "100.00"}],
    }
    return {key: value for key, value in {**body, **changes}.items() if value is not None}


CASES = {
    "missing required field": ({"name": None}, {"name": ["缺少必填项"]}),
    "wrong type": ({"plan_year": "明年"}, {"plan_year": ["不是有效的整数"]}),
    "out of range": ({"plan_year": 1999}, {"plan_year": ["必须在2000到2100之间"]}),
    "too long": ({"name": "长" * 201}, {"name": ["长度不能超过200"]}),
    "unknown field": ({"is_admin": True}, {"is_admin": ["未知字段"]}),
    "bad choice": (
        {"category": "luxury"},
        {"category": ["必须是以下之一：basic, improvement, enhancement"]},
    ),
    "nested bad number": (
        {"funding": [{"source": "government", "amount": "很多"}]},
        {"funding": {"0": {"amount": ["不是有效的数字"]}}},
    ),
    "nested bad choice and a null": (
        {"funding": [{"source": "lottery", "amount": None}]},
        {
            "funding": {
                "0": {
                    "source": [
                        "必须是以下之一：government, residents, maintenance_fund, "
                        "housing_provident_fund, social_capital, utility_company"
                    ],
                    "amount": ["不能为空值（null）"],
                }
            }
        },
    ),
    "not a list": ({"estate_ids": 7}, {"estate_ids": ["不是有效的列表"]}),
    "empty list": ({"estate_ids": []}, {"estate_ids": ["长度必须在1到50之间"]}),
    "blank text (ours, already Chinese)": ({"name": "   "}, {"name": ["不能为空白"]}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_refused_project_says_what_was_wrong_in_chinese(app, client, world, case):
    changes, expected = CASES[case]
    before = snapshot(app)
    reply = client.post(
        "/api/v1/projects", json=_project(world, **changes), headers=world.headers["county_officer"]
    )
    error = refused(app, before, reply, 422, "invalid")
    assert error["message"] == "提交的内容有误"
    assert error["details"] == {"fields": expected}


def test_a_body_that_is_not_an_object_is_refused_in_chinese(app, client, world):
    before = snapshot(app)
    reply = client.post("/api/v1/projects", json=[1, 2], headers=world.headers["county_officer"])
    error = refused(app, before, reply, 422, "invalid")
    assert error["details"] == {"fields": {"_schema": ["提交的内容类型无效，应为 JSON 对象"]}}


def test_query_strings_and_list_items_are_refused_in_chinese(app, client, world):
    before = snapshot(app)
    h = world.headers
    paged = client.get(
        f"/api/v1/estates/{world.estate}/projects?page=abc&per_page=1000", headers=h["clerk"]
    )
    assert refused(app, before, paged, 422, "invalid")["details"]["fields"] == {
        "page": ["不是有效的整数"],
        "per_page": ["必须在1到100之间"],
    }
    signup = client.post(
        f"/api/v1/projects/{world.construction}/supervisors",
        json={"days_available": ["mon", "funday"], "trade": "电" * 51},
        headers=h["resident_member"],
    )
    weekdays = "mon, tue, wed, thu, fri, sat, sun"
    assert refused(app, before, signup, 422, "invalid")["details"]["fields"] == {
        "days_available": {"1": [f"必须是以下之一：{weekdays}"]},
        "trade": ["长度不能超过50"],
    }


def test_times_and_booleans_are_refused_in_chinese(app, client, world):
    before = snapshot(app)
    reply = client.post(
        "/api/v1/notices",
        json={
            "estate_id": world.estate,
            "category": "general",
            "title": "停水",
            "body": "明日停水",
            "pinned": "也许",
            "expires_at": "2027-01-01T09:00:00",
            "publish_at": "明天",
        },
        headers=world.headers["clerk"],
    )
    assert refused(app, before, reply, 422, "invalid")["details"]["fields"] == {
        "pinned": ["不是有效的布尔值（true 或 false）"],
        "expires_at": ["不是有效的日期时间：须带时区（如 2026-01-01T09:00:00+08:00）"],
        "publish_at": ["不是有效的日期时间"],
    }


def test_our_own_rules_between_fields_speak_chinese_too(app, client, world):
    before = snapshot(app)
    reply = client.post(
        "/api/v1/notices",
        json={"category": "general", "title": "停水", "body": "明日停水"},
        headers=world.headers["clerk"],
    )
    fields_ = refused(app, before, reply, 422, "invalid")["details"]["fields"]
    assert fields_ == {
        "_target": ["请在 community_id、estate_id、project_id 中指定且只指定一个发布对象"]
    }
