"""Residents' contributions (issue 15): schemes, pledges, entries, spending, figures and publicity."""
