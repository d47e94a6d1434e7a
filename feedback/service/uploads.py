"""Images uploaded to a project: residents' photos for inspection and problem reports (现场照片)
and a power of attorney; staff's photos of a paper ballot's form.

One image a request, as `wx.uploadFile` sends it. The type is read from the file's first bytes,
never from its name or the declared content type: JPEG, PNG and WebP only. A file is written
under `UPLOAD_DIR/<project id>/<uuid>.<ext>` only once it has passed every check: it is
streamed to a hidden temporary name, renamed after the row is flushed, and removed again if the
transaction does not commit (`install_session_hooks`), so a refused or failed upload leaves
nothing on disk. (A process killed between the rename and the commit can leave an orphan file,
never a row without one.)

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
from sqlalchemy import event, select

from api.core import DomainError, InvalidInput, db, utcnow
from feedback.models.uploads import MAX_IMAGE_BYTES, Upload
from participation.models import Project, Resident, Staff

log = logging.getLogger(__name__)

CHUNK = 64 * 1024


class FileTooLarge(DomainError):
    status = 413
    code = "payload_too_large"
    message = "提交的内容过大"


def sniff(head: bytes) -> tuple[str, str] | None:
    """(content type, extension) of an image we accept, from its first 12 bytes; else None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", "jpg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png", "png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp", "webp"
    return None


def upload_root() -> Path:
    """The folder of every stored image (`UPLOAD_DIR`)."""
    return Path(current_app.config["UPLOAD_DIR"])


def file_path(upload: Upload) -> Path:
    """Where the upload's file is on disk."""
    return upload_root() / upload.path


def store(
    project: Project, uploader: Resident | Staff, stream, limit: int = MAX_IMAGE_BYTES
) -> Upload:
    """Check and store one image by a resident or a staff member; the Upload row (flushed, with
    `uploader_id` or `staff_uploader_id` set) and the file (renamed into place).

    Refuses an empty file (422 `file_empty`), anything but JPEG/PNG/WebP by its bytes (422
    `file_type_unsupported`) and more than `limit` bytes (413). The file is removed again if the
    transaction rolls back.
    """
    head = stream.read(12)
    if not head:
        raise InvalidInput("上传的文件是空的", code="file_empty")
    kind = sniff(head)
    if kind is None:
        raise InvalidInput("只能上传 JPEG、PNG 或 WebP 格式的图片", code="file_type_unsupported")
    content_type, ext = kind
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
) -> list[Upload]:
    """The uploads named, in the order named (duplicates once), each of this project and
    uploaded by this caller: a resident's own or a staff member's own, never the other kind.

    Anything else (unknown, another project's, someone else's) is 422 `upload_invalid`, with
    the offending ids under `details[field]`. For what a report, a paper ballot or a power of
    attorney attaches as its evidence.
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
        select(Upload).where(Upload.id.in_(ids), Upload.project_id == project.id, mine)
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


def attachable(project: Project, resident: Resident, upload_ids: list[int]) -> list[Upload]:
    """The photos a report attaches: the resident's own uploads of this project (422
    `upload_invalid`, `details.photo_ids`)."""
    return own_uploads(project, resident, upload_ids)


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
