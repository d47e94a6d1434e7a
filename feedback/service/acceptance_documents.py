"""The documents of a project's joint acceptance (验收资料): the signed acceptance form, the
companies' reports, photos of the works. Flushes, never commits.

The project's managers (its owner, its county, the prefecture) upload each file with
`POST /projects/{id}/uploads` (a PDF or an image), then attach it here with a title. Documents
belong to the project, so they may be attached before the record is written; they are attached
and removed only while the project is `completed`: once it is `accepted`, they are the record.
The files are staff's and never published to residents.
"""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import joinedload

from api.core import Conflict, InvalidInput, NotFound, db, utcnow
from feedback.models.acceptance import AcceptanceDocument
from feedback.models.uploads import IMAGE_TYPES, PDF
from feedback.queries import published
from feedback.service.uploads import own_uploads
from participation.models import Project, Staff

DOCUMENT_TYPES = (PDF, *IMAGE_TYPES)


class DocumentNotFound(NotFound):
    code = "document_not_found"
    message = "找不到该验收资料"


def _require_open(project: Project) -> None:
    if project.status != "completed":
        raise Conflict(
            "项目竣工后、验收前才能增删验收资料",
            code="project_not_completed",
            details={"status": project.status},
        )


def documents_of(project: Project) -> Select:
    """A statement for the project's acceptance documents, in the order they were attached."""
    return (
        select(AcceptanceDocument)
        .options(joinedload(AcceptanceDocument.upload))
        .where(AcceptanceDocument.project_id == project.id)
        .order_by(AcceptanceDocument.id)
    )


def attach(project: Project, staff: Staff, upload_id: int, title: str) -> AcceptanceDocument:
    """Attach the staff member's own upload of this project (a PDF or an image) as a document.

    409 `project_not_completed` unless the project is `completed`; 422 `upload_invalid` for an
    upload that is not the caller's of this project, `upload_published` for one shown to
    residents, `upload_duplicate` for one already attached.
    """
    _require_open(project)
    upload = own_uploads(
        project,
        staff,
        [upload_id],
        field="upload_id",
        message="验收资料须是您为本项目上传的 PDF 文件或图片",
        content_types=DOCUMENT_TYPES,
    )[0]
    if published(upload.id):
        raise InvalidInput(
            "该文件已向居民公开，不能作为验收资料",
            code="upload_published",
            details={"upload_id": [upload.id]},
        )
    taken = select(AcceptanceDocument.id).where(AcceptanceDocument.upload_id == upload.id)
    if db.session.scalar(taken) is not None:
        raise InvalidInput(
            "该文件已是验收资料", code="upload_duplicate", details={"upload_id": [upload.id]}
        )
    document = AcceptanceDocument(
        project_id=project.id,
        upload=upload,
        title=title,
        added_by_id=staff.id,
        created_at=utcnow(),
    )
    db.session.add(document)
    db.session.flush()
    return document


def document(project: Project, document_id: int) -> AcceptanceDocument:
    """One of the project's documents (404 `document_not_found` for any other id)."""
    found = db.session.get(AcceptanceDocument, document_id)
    if found is None or found.project_id != project.id:
        raise DocumentNotFound()
    return found


def remove(project: Project, document_id: int) -> AcceptanceDocument:
    """Remove a document (the upload stays, unused) while the project is `completed`; the
    document removed, its file's details loaded."""
    found = document(project, document_id)
    _require_open(project)
    found.upload  # noqa: B018 - loaded for the reply, before the row goes
    db.session.delete(found)
    db.session.flush()
    return found
