"""Chinese for the messages marshmallow and webargs give a refused field.

A 422's `details.fields` holds, for each field, the messages its checks gave. Ours are written
in Chinese; the libraries' are English templates ("Longer than maximum length {max}."), filled
in when a check fails. `localise` puts each filled-in English message into Chinese, the numbers
and choices it names kept ("长度不能超过200"); a message it does not know (ours, already Chinese)
is left as it is. The structure (field → list of messages, nested for nested fields) is kept.

`MESSAGES` covers every default message of marshmallow's fields, validators and schemas and
webargs' parser and fields (tests/shell/test_i18n.py reads them from the installed libraries,
so that an upgrade that adds one fails until it is translated here).
"""

from __future__ import annotations

import re
import string

# English template -> Chinese, with the same placeholders (a conversion such as `!r` is dropped:
# the value is put in as the English message shows it).
MESSAGES = {
    # marshmallow.fields.Field and every field class
    "Missing data for required field.": "缺少必填项",
    "Field may not be null.": "不能为空值（null）",
    "Invalid value.": "取值无效",
    "Invalid type.": "类型无效",
    "Not a valid list.": "不是有效的列表",
    "Not a valid tuple.": "不是有效的元组",
    "Not a valid string.": "不是有效的字符串",
    "Not a valid utf-8 string.": "不是有效的 UTF-8 字符串",
    "Not a valid UUID.": "不是有效的 UUID",
    "Not a valid number.": "不是有效的数字",
    "Number too large.": "数字过大",
    "Not a valid integer.": "不是有效的整数",
    "Special numeric values (nan or infinity) are not permitted.": "不允许 NaN 或无穷大等特殊数值",
    "Not a valid boolean.": "不是有效的布尔值（true 或 false）",
    "Not a valid {obj_type}.": "不是有效的{obj_type}",
    "Not a valid {awareness} {obj_type}.": "不是有效的{awareness}{obj_type}",
    '"{input}" cannot be formatted as a {obj_type}.': "“{input}”无法转换为{obj_type}",
    "Not a valid date.": "不是有效的日期（YYYY-MM-DD）",
    '"{input}" cannot be formatted as a date.': "“{input}”无法转换为日期",
    "Not a valid period of time.": "不是有效的时长",
    "{input!r} cannot be formatted as a timedelta.": "{input}无法转换为时长",
    "Not a valid mapping type.": "不是有效的对象（键值对）",
    "Not a valid URL.": "不是有效的网址",
    "Not a valid email address.": "不是有效的电子邮箱地址",
    "Not a valid IP address.": "不是有效的 IP 地址",
    "Not a valid IPv4 address.": "不是有效的 IPv4 地址",
    "Not a valid IPv6 address.": "不是有效的 IPv6 地址",
    "Not a valid IP interface.": "不是有效的 IP 接口地址",
    "Not a valid IPv4 interface.": "不是有效的 IPv4 接口地址",
    "Not a valid IPv6 interface.": "不是有效的 IPv6 接口地址",
    "Must be one of: {choices}.": "必须是以下之一：{choices}",
    # marshmallow.fields.DateTime and its kinds, filled in (clearer than word by word)
    "Not a valid datetime.": "不是有效的日期时间",
    "Not a valid aware datetime.": "不是有效的日期时间：须带时区（如 2026-01-01T09:00:00+08:00）",
    "Not a valid naive datetime.": "不是有效的日期时间：不能带时区",
    "Not a valid time.": "不是有效的时间",
    # marshmallow.Schema
    "Invalid input type.": "提交的内容类型无效，应为 JSON 对象",
    "Unknown field.": "未知字段",
    # marshmallow.validate
    "Must be greater than or equal to {min}.": "不能小于{min}",
    "Must be greater than {min}.": "必须大于{min}",
    "Must be less than or equal to {max}.": "不能大于{max}",
    "Must be less than {max}.": "必须小于{max}",
    "Must be greater than or equal to {min} and less than or equal to {max}.": (
        "必须在{min}到{max}之间"
    ),
    "Must be greater than {min} and less than or equal to {max}.": "必须大于{min}且不大于{max}",
    "Must be greater than or equal to {min} and less than {max}.": "必须不小于{min}且小于{max}",
    "Must be greater than {min} and less than {max}.": "必须大于{min}且小于{max}",
    "Shorter than minimum length {min}.": "长度不能少于{min}",
    "Longer than maximum length {max}.": "长度不能超过{max}",
    "Length must be between {min} and {max}.": "长度必须在{min}到{max}之间",
    "Length must be {equal}.": "长度必须为{equal}",
    "Must be equal to {other}.": "必须等于{other}",
    "String does not match expected pattern.": "格式不正确",
    "Invalid input.": "输入无效",
    "One or more of the choices you made was not in: {choices}.": (
        "所选的值必须在以下范围内：{choices}"
    ),
    "One or more of the choices you made was in: {values}.": "所选的值不能包含：{values}",
    # webargs
    "Not a valid delimited list.": "不是有效的分隔列表",
    "Not a valid delimited tuple.": "不是有效的分隔元组",
    "Invalid JSON body.": "请求内容不是有效的 JSON",
}

# What the templates put into their placeholders: the kind of a time field and its awareness.
WORDS = {
    "datetime": "日期时间",
    "date": "日期",
    "time": "时间",
    "aware": "带时区的",
    "naive": "不带时区的",
}

_FORMATTER = string.Formatter()


def _pattern(template: str) -> re.Pattern:
    """A regular expression matching `template` filled in, capturing each placeholder."""
    parts, seen = [], set()
    for literal, name, _spec, _conversion in _FORMATTER.parse(template):
        parts.append(re.escape(literal))
        if name is None:
            continue
        parts.append(f"(?P={name})" if name in seen else f"(?P<{name}>.*?)")
        seen.add(name)
    return re.compile("".join(parts), re.DOTALL)


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in _FORMATTER.parse(template) if name is not None}


_EXACT = {english: chinese for english, chinese in MESSAGES.items() if not _placeholders(english)}
# The most literal text first, so that "Not a valid {awareness} {obj_type}." is tried before
# "Not a valid {obj_type}.".
_TEMPLATES = sorted(
    (
        (_pattern(english), chinese)
        for english, chinese in MESSAGES.items()
        if _placeholders(english)
    ),
    key=lambda item: -len(re.sub(r"\(\?P[^)]*\)", "", item[0].pattern)),
)


def translate(message: str) -> str:
    """`message` in Chinese when it is one of the libraries' messages, else as it is."""
    if message in _EXACT:
        return _EXACT[message]
    for pattern, chinese in _TEMPLATES:
        found = pattern.fullmatch(message)
        if found:
            values = {name: WORDS.get(value, value) for name, value in found.groupdict().items()}
            return chinese.format(**values)
    return message


def localise(messages):
    """Field errors as marshmallow nests them (dicts of field names or list indices, lists of
    messages), every message in Chinese (`translate`), the structure unchanged."""
    if isinstance(messages, str):
        return translate(messages)
    if isinstance(messages, dict):
        return {key: localise(value) for key, value in messages.items()}
    if isinstance(messages, list | tuple):
        return [localise(value) for value in messages]
    return messages
