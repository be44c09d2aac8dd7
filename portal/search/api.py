from flask import Blueprint

bp = Blueprint("search_api", __name__, url_prefix="/api/v1")
