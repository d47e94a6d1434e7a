"""Feedback: completion ratings, problem reports, acceptance and completion satisfaction."""
