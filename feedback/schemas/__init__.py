"""What the feedback endpoints take (`…Args`) and give (`…Schema`), one area a module:
`supervision`, `uploads` (and the photo fields of reports), `tickets` (inspections, problems,
tickets), `ratings` (and the completion satisfaction), `acceptance` and `comments`."""
