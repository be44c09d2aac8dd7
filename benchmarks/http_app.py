"""The portal as gunicorn serves it, plus one empty view: the HTTP baseline of search_at_scale.py.

    gunicorn --pythonpath benchmarks http_app:app

Only the benchmark starts this; the empty route exists on this app instance, not in the portal.
"""

from portal import create_app

app = create_app()


@app.get("/_bench/empty")
def empty_view():
    return ""
