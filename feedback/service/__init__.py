"""Writes of the feedback domain (flush, never commit), one flow a module: `supervision`
(sign-ups and their review), `uploads` (photos and their files), `tickets` (inspections and the
ticket flow), `ratings` (ratings, the rating window, the completion count), `acceptance` (the
joint completion acceptance) and `comments` (posting, the content check, reports, likes,
moderation)."""
