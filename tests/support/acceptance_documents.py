"""Additions to the feedback world (tests/support/feedback_world.py) for the acceptance
documents of issue 14: on the `completed` project, a PDF the owner uploaded and has not
attached (`w.owner_pdf`), and a document attached from another of the owner's PDFs
(`w.acceptance_document`)."""

from __future__ import annotations

import uuid
from pathlib import Path

from api.core import db
from feedback.models import AcceptanceDocument, Upload
from tests.support.feedback_world import PDF, World


def staff_pdf(app, project_id: int, staff_id: int) -> int:
    """A PDF in the upload folder and its row, uploaded by the staff member: its id."""
    relative = f"{project_id}/{uuid.uuid4().hex}.pdf"
    path = Path(app.config["UPLOAD_DIR"]) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(PDF)
    upload = Upload(
        project_id=project_id,
        staff_uploader_id=staff_id,
        path=relative,
        content_type="application/pdf",
        size=len(PDF),
        sha256="0" * 64,
    )
    db.session.add(upload)
    db.session.flush()
    return upload.id


def add_acceptance_documents(app, w: World) -> World:
    with app.app_context():
        owner = w.callers["owner"]
        w.owner_pdf = staff_pdf(app, w.completed, owner)
        attached = staff_pdf(app, w.completed, owner)
        document = AcceptanceDocument(
            project_id=w.completed, upload_id=attached, title="竣工图", added_by_id=owner
        )
        db.session.add(document)
        db.session.commit()
        w.acceptance_document = document.id
        db.session.remove()
    return w
