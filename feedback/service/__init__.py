"""Writes of the feedback domain (flush, never commit), one flow a module: `supervision`
(sign-ups and their review), `uploads` (photos, documents and their files; what may be
published), `plan_attachments` (a plan version's files, written with the version), `progress`
(progress updates, 进度公示), `tickets` (inspections and the ticket flow), `ratings` (ratings,
the rating window, the completion count), `acceptance` (the joint completion acceptance) and
`comments` (posting, the content check, reports, likes, moderation); `personal` (what feedback
holds about a resident: its export and its erasure)."""
