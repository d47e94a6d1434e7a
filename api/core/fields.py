"""Schema fields and masks every domain's schemas share: trimmed text, ids, bounded dates,
masked personal data."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time

import marshmallow as ma
from marshmallow import fields, validate

ID_MAX = 2**31 - 1

# The dates the service has any use for (plan years run 2000–2100). Far dates are refused at
# the schema: year 1 at +14:00 or 9999-12-31 at -14:00 cannot even be turned into UTC.
DATE_MIN = date(2000, 1, 1)
DATE_MAX = date(2100, 12, 31)

# Lone UTF-16 halves: JSON's "\ud800" escape makes one, and no encoding can write it out.
_SURROGATE = re.compile("[\ud800-\udfff]")


def unstorable(value: str) -> str | None:
    """Why `value` cannot be stored as text (a NUL character, which PostgreSQL refuses, or a
    lone surrogate, which UTF-8 cannot encode), or None when it can."""
    if "\x00" in value:
        return "不能包含 NUL 字符"
    if _SURROGATE.search(value):
        return "不能包含不成对的代理字符（\\ud800–\\udfff）"
    return None


class Text(fields.String):
    """A string with surrounding white space removed; blank counts as missing; it can be
    stored (no NUL, no lone surrogate). Documented with `minLength: 1`."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # Never fails after the blank check below; it tells the OpenAPI document.
        self.validators.insert(0, validate.Length(min=1))

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        value = value.strip()
        if not value:
            raise ma.ValidationError("不能为空白")
        problem = unstorable(value)
        if problem:
            raise ma.ValidationError(problem)
        return value


def text(max_length: int, **kwargs):
    return Text(validate=validate.Length(max=max_length), **kwargs)


def id_field(**kwargs):
    """An id in a JSON body: a JSON integer (`"1"` and `1.0` are refused)."""
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=ID_MAX), **kwargs)


def query_id(**kwargs):
    """An id in a query string, where every value is text: `?estate_id=7` is the id 7."""
    return fields.Integer(validate=validate.Range(min=1, max=ID_MAX), **kwargs)


_DATE_RANGE = f"between {DATE_MIN.isoformat()} and {DATE_MAX.isoformat()}"
_OUT_OF_RANGE = f"须在{DATE_MIN.isoformat()}至{DATE_MAX.isoformat()}之间"


def _noted(kwargs: dict, note: str) -> dict:
    """`kwargs` with `note` added to the field's description in the OpenAPI document."""
    metadata = dict(kwargs.pop("metadata", None) or {})
    described = metadata.get("description")
    metadata["description"] = f"{described}; {note}" if described else note
    return {**kwargs, "metadata": metadata}


class Date(fields.Date):
    """A date (`YYYY-MM-DD`) between `DATE_MIN` and `DATE_MAX`."""

    def __init__(self, **kwargs):
        super().__init__(**_noted(kwargs, _DATE_RANGE))

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if not DATE_MIN <= value <= DATE_MAX:
            raise ma.ValidationError(_OUT_OF_RANGE)
        return value


class DateTime(fields.AwareDateTime):
    """A time with its UTC offset (ISO 8601) on a day between `DATE_MIN` and `DATE_MAX` in
    UTC, loaded as UTC."""

    def __init__(self, **kwargs):
        super().__init__(**_noted(kwargs, f"with a UTC offset, {_DATE_RANGE} (UTC)"))

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        # Aware datetimes compare without being converted, so a far one is refused before
        # astimezone could overflow.
        if not _EARLIEST <= value <= _LATEST:
            raise ma.ValidationError(f"{_OUT_OF_RANGE}（按 UTC 计）")
        return value.astimezone(UTC)


_EARLIEST = datetime.combine(DATE_MIN, time.min, UTC)
_LATEST = datetime.combine(DATE_MAX, time.max, UTC)


def mask_name(name: str | None) -> str | None:
    """张三 → 张*, 欧阳娜娜 → 欧**娜: the first character, and the last for names of 3+."""
    if not name:
        return name
    chars = list(name)
    if len(chars) == 1:
        return "*"
    if len(chars) == 2:
        return chars[0] + "*"
    return chars[0] + "*" * (len(chars) - 2) + chars[-1]


def mask_phone_last4(digits: str | None) -> str | None:
    """The roster's last four phone digits are shown as **34."""
    if not digits:
        return digits
    return "**" + digits[-2:]


def mask_room(room: str) -> str:
    """101 → 1**, 12 → 1*: the floor stays, the door does not."""
    return mask_name(room) if len(room) < 3 else room[0] + "*" * (len(room) - 1)


def mask_address(building: str, unit: str, room: str) -> str:
    """1栋 1单元 101 → 1栋1单元1**: enough to find one's own line, not a neighbour's."""
    return f"{building}{unit}{mask_room(room)}"
