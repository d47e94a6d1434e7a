"""The files a plan version carries, attached when the version is created. Flushes, never
commits.

There is no way to attach a file to an existing version: residents are consulted on a version
as it was published, so the route that creates a version (participation's write) calls `attach`
in the same transaction, and nothing else does.
"""

from __future__ import annotations

from sqlalchemy import select

from api.core import Conflict, InvalidInput, db
from feedback.models.plan_attachments import PlanAttachment
from feedback.models.uploads import IMAGE_TYPES, PDF
from feedback.service.uploads import publishable
from participation.models import Plan, Project, Staff

ATTACHABLE = (*IMAGE_TYPES, PDF)


def attach(project: Project, plan: Plan, staff: Staff, attachments: list[dict]) -> list:
    """Attach `attachments` (`{"upload_id", "title"}`, in order) to `plan`, a version of
    `project` just created by `staff`: each upload the staff member's own of this project, an
    image or a PDF, used as nobody's evidence (422 `upload_invalid` / `upload_in_use`, the ids
    under `details.attachments`). The same upload twice is 422 `upload_duplicate`. 409
    `plan_published` for a version that already has attachments."""
    if not attachments:
        return []
    ids = [a["upload_id"] for a in attachments]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise InvalidInput(
            "同一文件只能附加一次", code="upload_duplicate", details={"attachments": duplicates}
        )
    attached = select(PlanAttachment.id).where(PlanAttachment.plan_id == plan.id).limit(1)
    if db.session.scalar(attached) is not None:
        raise Conflict("方案版本一经创建不能再增加附件", code="plan_published")
    uploads = publishable(
        project,
        staff,
        ids,
        field="attachments",
        message="附件须是您为本项目上传的图片或 PDF 文件",
        content_types=ATTACHABLE,
    )
    rows = [
        PlanAttachment(plan_id=plan.id, upload=upload, position=n, title=a["title"])
        for n, (upload, a) in enumerate(zip(uploads, attachments, strict=True), start=1)
    ]
    db.session.add_all(rows)
    db.session.flush()
    return rows
