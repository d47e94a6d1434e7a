"""Voting: consultations, ballots, electorate snapshots, tallies and the satisfaction gate."""
