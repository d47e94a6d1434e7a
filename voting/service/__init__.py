"""Writes of the voting domain, one flow a module: `consultations` (prepare, lock, open,
close), `ballots` (a resident's, the checks and the write every ballot shares), `paper` (a
clerk's paper or assisted ballot and the notice of a replaced WeChat ballot), `delegations`
(an owner's vote entrusted to a member of the household), `replies` (official replies to
residents' comments), `tally` (the count written down and the gate's fields), `reminders`
(the closing reminder announced), `members` (a member who leaves the frozen electorate when their
membership of the household ends), `personal` (what voting holds about a resident: its export,
and its erasure, which keeps every ballot and count).

Functions flush, never commit; the caller commits once. The jobs that follow a write (the
tally, the scheduled close and reminder) are asked for by `voting.jobs`.
"""
