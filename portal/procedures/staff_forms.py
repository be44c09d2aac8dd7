"""The form completing an uncatalogued procedure. It only carries the values: services.complete
checks them and the view puts each refusal on its field."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField

LEVEL_CHOICES = [SelectChoice("commune", _l("Commune or ward")), SelectChoice("province", _l("Province or city"))]
ACCESS_CHOICES = [SelectChoice("personal", _l("Personal: only the holder and staff")),
                  SelectChoice("public", _l("Public register: anyone sees the public fields"))]


class ProcedureForm(FlaskForm):
    name = StringField(_l("Procedure name"))
    field = StringField(_l("Field (lĩnh vực)"))
    level = SelectField(_l("Level that issues the result"), choices=LEVEL_CHOICES, validate_choice=False)
    result_doc_type = StringField(_l("Name of the result document"))
    notation = StringField(_l("Usual notation (optional)"))
    access = SelectField(_l("Default access of its results"), choices=ACCESS_CHOICES, validate_choice=False)
