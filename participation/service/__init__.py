"""Writes of the participation domain, one flow a module: `registry` (places, claims, staff and
grants), `roster` (the household roster import, from the file to the rows) and `projects`
(projects, plans and the lifecycle with its registered guards and effects).

Functions flush, never commit; the caller commits once.
"""
