"""The public scorecard: service-quality figures of the city and each commune/ward (issue 6)."""
