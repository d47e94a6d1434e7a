"""What the photo endpoints take and give, and the photo fields of reports."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from api.core.fields import id_field
from feedback.models.uploads import MAX_PHOTOS


class UploadArgs(ma.Schema):
    """One image as multipart field `file` (what wx.uploadFile sends)."""

    file = fields.Raw(metadata={"type": "string", "format": "binary"}, required=True)


class UploadSchema(ma.Schema):
    id = fields.Integer()
    project_id = fields.Integer()
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    url = fields.Function(lambda u: f"/api/v1/uploads/{u.id}")
    created_at = fields.DateTime()


class PhotoSchema(ma.Schema):
    id = fields.Integer()
    content_type = fields.String()
    url = fields.Function(lambda u: f"/api/v1/uploads/{u.id}", metadata={"type": "string"})


def photo_ids():
    """The photos a report attaches: ids of the reporter's own uploads, at most 9."""
    return fields.List(
        id_field(),
        load_default=list,
        validate=validate.Length(max=MAX_PHOTOS),
        metadata={"description": "ids from POST /projects/{id}/uploads, by the same resident"},
    )
