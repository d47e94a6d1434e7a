"""Files uploaded to a project: residents' photos for inspection and problem reports (现场照片)
and a power of attorney; staff's photos of a paper ballot's form, a plan's drawings and progress
photos; and, from the project's managers only, the plan document as a PDF.

One file a request, as `wx.uploadFile` sends it. The type is read from the file's first bytes,
never from its name or the declared content type: JPEG, PNG and WebP, and PDF where the caller
may upload documents. A file is written under `UPLOAD_DIR/<project id>/<uuid>.<ext>` only once
it has passed every check: it is streamed to a hidden temporary name, renamed after the row is
flushed, and removed again if the transaction does not commit (`install_session_hooks`), so a
refused or failed upload leaves nothing on disk. (A process killed between the rename and the
commit can leave an orphan file, never a row without one.)

An upload is private to its uploader (and staff who see the project) until it is published: a
plan's attachment or a progress update's photo, which the project's residents may fetch. Only
staff's own uploads that nothing else uses (a ballot's evidence, a power of attorney) may be
published (`publishable`).

Functions flush, never commit.
"""

from __future__ import annotations

import hashlib
import logging
import os
import uuid
from pathlib import Path

from flask import current_app
from flask_sqlalchemy.session import Session
from sqlalchemy import event, select, union_all

from api.core import DomainError, InvalidInput, db, utcnow
from feedback.models.plan_attachments import PlanAttachment
from feedback.models.progress import progress_update_photos
from feedback.models.tickets import ticket_event_photos
from feedback.models.uploads import IMAGE_TYPES, MAX_BYTES, PDF, Upload
from participation.models import Project, Resident, Staff

log = logging.getLogger(__name__)

CHUNK = 64 * 1024


class FileTooLarge(DomainError):
    status = 413
    code = "payload_too_large"
    message = "提交的内容过大"


def sniff(head: bytes) -> tuple[str, str] | None:
    """(content type, extension) of a file we accept, from its first 12 bytes; else None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", "jpg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png", "png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp", "webp"
    if head.startswith(b"%PDF-"):
        return PDF, "pdf"
    return None


def upload_root() -> Path:
    """The folder of every stored image (`UPLOAD_DIR`)."""
    return Path(current_app.config["UPLOAD_DIR"])


def file_path(upload: Upload) -> Path:
    """Where the upload's file is on disk."""
    return upload_root() / upload.path


def store(
    project: Project, uploader: Resident | Staff, stream, *, documents: bool = False
) -> Upload:
    """Check and store one file by a resident or a staff member; the Upload row (flushed, with
    `uploader_id` or `staff_uploader_id` set) and the file (renamed into place).

    Refuses an empty file (422 `file_empty`), anything but JPEG/PNG/WebP by its bytes, or a
    PDF too when `documents` (422 `file_type_unsupported`), and more than its type's limit
    (`MAX_BYTES`, 413). The file is removed again if the transaction rolls back.
    """
    head = stream.read(12)
    if not head:
        raise InvalidInput("上传的文件是空的", code="file_empty")
    kind = sniff(head)
    if kind is None or (kind[0] == PDF and not documents):
        if documents:
            message = "只能上传 JPEG、PNG、WebP 格式的图片或 PDF 文件"
        else:
            message = "只能上传 JPEG、PNG 或 WebP 格式的图片"
        raise InvalidInput(message, code="file_type_unsupported")
    content_type, ext = kind
    limit = MAX_BYTES[content_type]
    folder = upload_root() / str(project.id)
    folder.mkdir(parents=True, exist_ok=True)
    name = uuid.uuid4().hex
    temporary = folder / f".{name}.part"
    final = folder / f"{name}.{ext}"
    digest, size = hashlib.sha256(), 0
    try:
        with open(temporary, "wb") as out:
            chunk = head
            while chunk:
                size += len(chunk)
                if size > limit:
                    raise FileTooLarge(details={"limit_bytes": limit})
                digest.update(chunk)
                out.write(chunk)
                chunk = stream.read(CHUNK)
        upload = Upload(
            project_id=project.id,
            uploader_id=uploader.id if isinstance(uploader, Resident) else None,
            staff_uploader_id=uploader.id if isinstance(uploader, Staff) else None,
            path=f"{project.id}/{final.name}",
            content_type=content_type,
            size=size,
            sha256=digest.hexdigest(),
            created_at=utcnow(),
        )
        db.session.add(upload)
        db.session.flush()
        os.replace(temporary, final)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    db.session.info.setdefault(_NEW_FILES, []).append(final)
    return upload


def own_uploads(
    project: Project,
    caller: Resident | Staff,
    upload_ids: list[int],
    *,
    field: str = "photo_ids",
    message: str = "照片须是您为本项目上传的图片",
    content_types: tuple[str, ...] = IMAGE_TYPES,
) -> list[Upload]:
    """The uploads named, in the order named (duplicates once), each of this project, uploaded
    by this caller (a resident's own or a staff member's own, never the other kind) and of one
    of `content_types` (images unless told).

    Anything else (unknown, another project's, someone else's, a PDF where an image is asked
    for) is 422 `upload_invalid`, with the offending ids under `details[field]`. For what a
    report, a paper ballot or a power of attorney attaches as its evidence.
    """
    ids = list(dict.fromkeys(upload_ids))
    if not ids:
        return []
    mine = (
        Upload.uploader_id == caller.id
        if isinstance(caller, Resident)
        else Upload.staff_uploader_id == caller.id
    )
    found = db.session.scalars(
        select(Upload).where(
            Upload.id.in_(ids),
            Upload.project_id == project.id,
            mine,
            Upload.content_type.in_(content_types),
        )
    ).all()
    missing = sorted(set(ids) - {u.id for u in found})
    if missing:
        raise InvalidInput(message, code="upload_invalid", details={field: missing})
    by_id = {u.id: u for u in found}
    return [by_id[i] for i in ids]


def own_upload(
    project: Project, caller: Resident | Staff, upload_id: int, *, field: str, message: str
) -> Upload:
    """One upload of this project by this caller (422 `upload_invalid`, see `own_uploads`)."""
    return own_uploads(project, caller, [upload_id], field=field, message=message)[0]


def evidence_upload(
    project: Project, caller: Resident | Staff, upload_id: int, *, field: str, message: str
) -> Upload:
    """One upload to keep as evidence (a paper ballot's form, a power of attorney): as
    `own_upload`, and never one already published or shown to a ticket's reporter (422
    `upload_published`, the id under `details[field]`): evidence is never a file the project's
    residents may fetch, whichever came first (`publishable` refuses the other order)."""
    upload = own_upload(project, caller, upload_id, field=field, message=message)
    attached = select(PlanAttachment.id).where(PlanAttachment.upload_id == upload.id)
    shown = select(progress_update_photos.c.upload_id).where(
        progress_update_photos.c.upload_id == upload.id
    )
    # A ticket's answer photo is shown to the ticket's reporter (`answers_reporter`).
    answered = select(ticket_event_photos.c.upload_id).where(
        ticket_event_photos.c.upload_id == upload.id
    )
    if db.session.scalar(select(attached.exists() | shown.exists() | answered.exists())):
        raise InvalidInput(
            "该照片已公开发布，不能作为凭证，请上传凭证原件的照片",
            code="upload_published",
            details={field: [upload.id]},
        )
    return upload


def attachable(project: Project, resident: Resident, upload_ids: list[int]) -> list[Upload]:
    """The photos a report attaches: the resident's own uploads of this project (422
    `upload_invalid`, `details.photo_ids`)."""
    return own_uploads(project, resident, upload_ids)


# --- publishing: what the project's residents may fetch ----------------------------------------

# The tables whose rows publish an upload to the project's residents (a ticket's answer photos to
# its reporter). An upload any other table refers to is someone's evidence (a paper ballot's
# form, a power of attorney, a report's photo).
_PUBLISHING = frozenset(
    {PlanAttachment.__tablename__, progress_update_photos.name, ticket_event_photos.name}
)


def _used_privately(upload_ids: list[int]) -> list[int]:
    """Those of `upload_ids` that a table other than a publishing one refers to. The tables
    are found from the schema (every foreign key onto `uploads.id`), so a use another domain
    adds (voting's evidence) is covered without this module naming it."""
    uses = [
        select(fk.parent.label("id")).where(fk.parent.in_(upload_ids))
        for table in db.metadata.tables.values()
        if table.name not in _PUBLISHING
        for fk in table.foreign_keys
        if fk.target_fullname == "uploads.id"
    ]
    if not uses:
        return []
    return sorted(set(db.session.scalars(union_all(*uses))))


def publishable(
    project: Project,
    staff: Staff,
    upload_ids: list[int],
    *,
    field: str,
    message: str,
    content_types: tuple[str, ...] = IMAGE_TYPES,
) -> list[Upload]:
    """The uploads named, to be published to the project's residents: the staff member's own
    uploads of this project, of `content_types` (422 `upload_invalid`, see `own_uploads`), and
    none of them used as evidence of anything (422 `upload_in_use`, the ids under
    `details[field]`): a photo of a signed ballot form must never reach the residents."""
    found = own_uploads(
        project, staff, upload_ids, field=field, message=message, content_types=content_types
    )
    used = _used_privately([u.id for u in found])
    if used:
        raise InvalidInput(
            "该文件已作为选票或委托书等凭证使用，不能公开",
            code="upload_in_use",
            details={field: used},
        )
    return found


# --- files follow the transaction -----------------------------------------------------------

_NEW_FILES = "new_upload_files"


def _keep_files(session):
    session.info.pop(_NEW_FILES, None)


def _remove_uncommitted_files(session, transaction):
    # After a commit the list is gone; a rollback or a close without commit leaves it here.
    if transaction.parent is not None:
        return
    for path in session.info.pop(_NEW_FILES, []):
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("could not remove uncommitted upload %s: %s", path, exc)


def install_session_hooks() -> None:
    """Make a commit keep, and a rollback remove, the files a transaction stored.

    Called by `api.app.create_app`; installing twice is a no-op (the listeners are global to
    the session class, which several apps in one process share).
    """
    for name, hook in (
        ("after_commit", _keep_files),
        ("after_transaction_end", _remove_uncommitted_files),
    ):
        if not event.contains(Session, name, hook):
            event.listen(Session, name, hook)
