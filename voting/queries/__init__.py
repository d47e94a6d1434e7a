"""Reads of the voting domain: consultations, ballots, turnout, the tally's counts and the gate.

Nothing here writes. One module per subject: `consultations`, `ballots`, `turnout`, `tally`
(the count, in SQL), `rules` (what a count decides: pure, no database), `gate`.
"""
