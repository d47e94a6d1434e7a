"""Participation: places, the household roster, residents, staff and their role grants."""
