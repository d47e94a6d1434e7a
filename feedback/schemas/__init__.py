"""What the feedback endpoints take (`…Args`) and give (`…Schema`), one area a module:
`supervision`, `uploads` (and the photo fields of reports), `progress` (progress updates and
their timeline entries), `tickets` (inspections, problems, tickets), `ratings` (and the
completion satisfaction), `acceptance` and `comments`."""
