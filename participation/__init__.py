"""Participation: who lives where, who may act for whom, and what is to be renovated.

Two halves, each a module of every layer:

- the registry (`registry`): counties, communities, estates, buildings and the household
  roster (its import: `service/roster.py`), residents and their household claims, staff and
  their role grants;
- projects (`projects`): renovation projects, funding, the policy's milestones, plan versions
  and the lifecycle, whose steps other domains guard (`service.projects.register_guard`).

`models/` (tables), `service/` (writes), `queries` (reads), `schemas/`, `policy` (who may see and
do what; the one reader of a staff member's grants). Participation imports no other domain;
voting, feedback and notices use its models, queries and policy predicates.
"""
