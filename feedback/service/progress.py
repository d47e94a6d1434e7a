"""Progress updates (进度公示): a manager of the project publishes how the works stand, with
photos, and the households of its estates are told. Flushes, never commits."""

from __future__ import annotations

from api.core import Conflict, db, emit, utcnow
from feedback.models.progress import PROGRESS_STATUSES, ProgressUpdate
from feedback.service.uploads import publishable
from participation.models import Project, Staff


class ProjectNotUnderWay(Conflict):
    code = "project_not_under_way"
    message = "项目尚未开工或已验收，不能发布进度公示"


def post(project: Project, staff: Staff, args: dict) -> ProgressUpdate:
    """Publish a progress update on `project` by `staff` (who manages it): the text and the
    photos named (`photo_ids`: the staff member's own image uploads of this project, used as
    nobody's evidence: 422 `upload_invalid` / `upload_in_use`). Only while there are works to
    report on (`PROGRESS_STATUSES`; else 409 `project_not_under_way`). Emits `progress_posted`,
    on which the project's households get a notice."""
    if project.status not in PROGRESS_STATUSES:
        raise ProjectNotUnderWay(
            details={"status": project.status, "allowed": list(PROGRESS_STATUSES)}
        )
    photos = publishable(
        project,
        staff,
        args["photo_ids"],
        field="photo_ids",
        message="照片须是您为本项目上传的图片",
    )
    update = ProgressUpdate(
        project_id=project.id, staff_id=staff.id, body=args["body"], created_at=utcnow()
    )
    update.photos = photos
    db.session.add(update)
    db.session.flush()
    emit(
        "progress_posted",
        progress_id=update.id,
        project_id=project.id,
        body=update.body,
        photo_count=len(photos),
        posted_at=update.created_at,
    )
    return update
