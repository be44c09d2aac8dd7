"""API keys for organizations (issue 15, item 3): issued by admins, stored hashed, scoped, with a
daily quota counted per Hanoi day in the database (so every worker sees one count)."""
