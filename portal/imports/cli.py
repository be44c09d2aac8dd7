from flask.cli import AppGroup

records_cli = AppGroup("records")
