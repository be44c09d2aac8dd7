"""Running the portal for real: health and readiness, `flask doctor`, backups, metrics (issue 16).

The top area: it looks at every other one (database, index, queues, mail, signing keys, files) and
nothing imports it but the app factory.
"""
