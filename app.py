"""Entry point: `gunicorn app:app` serves it; `flask --app app …` finds it."""

from portal import create_app

app = create_app()
