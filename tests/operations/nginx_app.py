"""The portal as tests/operations/test_nginx.py serves it under gunicorn behind nginx, plus one
test-only route saying what the app saw of a request: what nginx must get right (the client's
address, scheme and host after ProxyFix, the request id, every byte of the body)."""

from __future__ import annotations

from flask import jsonify, request

from portal import create_app
from portal.extensions import csrf
from portal.request_ids import request_id

app = create_app()


@csrf.exempt
def seen():
    return jsonify(remote_addr=request.remote_addr, scheme=request.scheme, host=request.host,
                   request_id=request_id(), body_bytes=len(request.get_data()))


app.add_url_rule("/_test/seen", view_func=seen, methods=["GET", "POST"])
