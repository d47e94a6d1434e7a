"""Schema fields and masks every domain's schemas share: trimmed text, ids, masked personal data."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

ID_MAX = 2**31 - 1


class Text(fields.String):
    """A string with surrounding white space removed; blank counts as missing."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        value = value.strip()
        if not value:
            raise ma.ValidationError("Must not be blank.")
        if "\x00" in value:  # PostgreSQL cannot store it; never part of a real text
            raise ma.ValidationError("Must not contain NUL characters.")
        return value


def text(max_length: int, **kwargs):
    return Text(validate=validate.Length(max=max_length), **kwargs)


def id_field(**kwargs):
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=ID_MAX), **kwargs)


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
