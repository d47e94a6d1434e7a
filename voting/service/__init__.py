"""Writes of the voting domain, one flow a module: `consultations` (prepare, lock, open,
close), `ballots` (a resident's, a clerk's paper ballot), `tally` (the count written down and
the gate's fields), `reminders` (the closing reminder announced).

Functions flush, never commit; the caller commits once. The jobs that follow a write (the
tally, the scheduled close and reminder) are asked for by `voting.jobs`.
"""
