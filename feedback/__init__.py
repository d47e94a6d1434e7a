"""Feedback: the building site and after it. Supervisors (监督员) and their inspections,
residents' problem reports and the tickets the owner answers, completion ratings and the
completion satisfaction, the joint acceptance, comments on projects and plans.

`models/` (tables), `service/` (writes), `queries` (reads), `schemas/`, `policy` (who may do
what, and the rule before `accepted`), `jobs` (the completion count, comment re-checks, the
reconciler). It uses participation's models, queries and scope predicates, and no other domain.
"""
