"""Writes of the participation domain, one flow a module: `registry` (places, claims, staff and
grants), `roster` (the household roster import, from the file to the rows), `membership` (how
a membership of a household ends: the resident leaves, or a re-import revokes it) and `projects`
(projects, plans and the lifecycle with its registered guards and effects), `privacy`
(residents' consent to the privacy notice), `personal` (what participation holds about a
resident: its export and its erasure) and `erasure` (erasing a resident in every domain, through
the erasers the app registers; the retention period's list).

Functions flush, never commit; the caller commits once.
"""
