"""What the progress update endpoints (进度公示) take and give, and their timeline entries."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from api.core.fields import Text, id_field
from feedback.models.progress import MAX_PROGRESS_TEXT, PROGRESS_STATUSES, ProgressUpdate
from feedback.models.uploads import MAX_PHOTOS
from feedback.schemas.uploads import PhotoSchema
from participation.schemas.timeline import entry, excerpt


class ProgressArgs(ma.Schema):
    class Meta:
        description = (
            "Posted by the project's owner, its county or the prefecture while the project is "
            f"in {', '.join(f'`{s}`' for s in PROGRESS_STATUSES)} (409 `project_not_under_way` "
            "otherwise). `photo_ids`: the poster's own image uploads of this project (POST "
            "/projects/{id}/uploads), at most 9 (422 `upload_invalid` for any other; 422 "
            "`upload_in_use` for one that is a ballot's or a delegation's evidence). The "
            "project's households get a notice (`progress_update`)."
        )

    body = Text(required=True, validate=validate.Length(max=MAX_PROGRESS_TEXT))
    photo_ids = fields.List(
        id_field(),
        load_default=list,
        validate=validate.Length(max=MAX_PHOTOS),
        metadata={"description": "ids from POST /projects/{id}/uploads, by the same staff member"},
    )


class ProgressSchema(ma.Schema):
    id = fields.Integer()
    project_id = fields.Integer()
    body = fields.String()
    photos = fields.List(fields.Nested(PhotoSchema))
    created_at = fields.DateTime()


def progress_entries(rows: list[tuple[ProgressUpdate, int]]) -> list[dict]:
    """Each progress update on the timeline, from `(update, photo count)` rows."""
    return [
        entry(
            update.created_at,
            "progress_update",
            "进度公示",
            excerpt(update.body),
            progress_id=update.id,
            photo_count=photos,
        )
        for update, photos in rows
    ]
