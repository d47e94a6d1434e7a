"""Reads of the voting domain: consultations, ballots, turnout, the tally's counts and the gate.

Nothing here writes. One module per subject: `consultations`, `ballots`, `delegations`,
`turnout` (who voted, who has not), `tally` (the count, in SQL), `rules` (what a count
decides: pure, no database), `gate`, `visibility` (what of a result a caller may see before
the close), `opinions` (residents' reasons per plan item, comments and replies).
"""
