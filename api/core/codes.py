"""Enumeration codes in replies, and their Chinese labels beside them.

A reply gives a code (`status`) and its label from `api.core.labels` in a sibling field
(`status_label`; a list of codes `aspects` → `aspects_labels`), so that the mini-program shows
the words without a table of its own. The code's values are listed in the OpenAPI document.
"""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields


def code(values, **kwargs) -> fields.String:
    """An enumeration code in a reply, its values listed in the OpenAPI document (`enum`, and
    null among them when the field may be null). Its Chinese label is a sibling: `label`."""
    choices = [*values, None] if kwargs.get("allow_none") else list(values)
    metadata = {**(kwargs.pop("metadata", None) or {}), "enum": choices}
    return fields.String(metadata=metadata, **kwargs)


def label(table: dict, attribute: str, **kwargs) -> fields.Function:
    """The Chinese label of the code at `attribute` of what is dumped (`table[code]`), null when
    the code is, absent when it is absent. Give it as `<field>_label` beside the code's field."""
    metadata = {"type": "string", "description": f"the Chinese label of `{attribute}`"}
    metadata.update(kwargs.pop("metadata", None) or {})

    def lookup(obj):
        value = ma.utils.get_value(obj, attribute)
        return value if value is None or value is ma.missing else table.get(value, value)

    return _labelling(fields.Function(lookup, metadata=metadata, **kwargs), table, attribute)


def labels_of(table: dict, attribute: str, **kwargs) -> fields.Function:
    """The Chinese labels of the list of codes at `attribute`, in its order (`<field>_labels`);
    an item the table does not name (a needs survey's own option) shows as it is."""
    metadata = {
        "type": "array",
        "items": {"type": "string"},
        "description": f"the Chinese labels of `{attribute}`, in its order",
    }
    metadata.update(kwargs.pop("metadata", None) or {})

    def lookup(obj):
        values = ma.utils.get_value(obj, attribute)
        if values is None or values is ma.missing:
            return values
        return [table.get(value, value) for value in values]

    return _labelling(fields.Function(lookup, metadata=metadata, **kwargs), table, attribute)


def keyed_labels(table: dict, attribute: str, **kwargs) -> fields.Function:
    """The Chinese labels of the keys of the mapping at `attribute` (`{code: label}`), for a
    mapping keyed by codes such as counts by status (`<field>_labels`)."""
    metadata = {
        "type": "object",
        "additionalProperties": {"type": "string"},
        "description": f"the Chinese label of each key of `{attribute}`",
    }
    metadata.update(kwargs.pop("metadata", None) or {})

    def lookup(obj):
        mapping = ma.utils.get_value(obj, attribute)
        if mapping is None or mapping is ma.missing:
            return mapping
        return {key: table.get(key, key) for key in mapping}

    return _labelling(fields.Function(lookup, metadata=metadata, **kwargs), table, attribute)


def _labelling(field: fields.Function, table: dict, attribute: str) -> fields.Function:
    """`field`, knowing the table it reads and the attribute it labels (for tests/shell/
    test_labels.py, which checks that the table names every code the attribute may hold)."""
    field.label_table = table
    field.labelled_attribute = attribute
    return field
