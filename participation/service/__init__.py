"""Writes of the participation domain (flush, never commit): `registry` (places, claims, staff), `roster` (the household roster import) and `projects` (projects, plans, the lifecycle)."""
