"""Feedback: ratings of copy requests, problem reports and corrections, petitions (docs/feedback.md)."""
