"""Every request's input checked before a view sees it: JSON bodies of bounded depth with
storable text, query and form values without NUL, and a years validator for form fields.
The rules themselves are in parkapp.core.inputs."""

from flask import Request, request
from flask import json as flask_json
from werkzeug.exceptions import BadRequest
from wtforms.validators import StopValidation

from parkapp.core.exceptions import Invalid
from parkapp.core.inputs import (
    MAX_JSON_DEPTH,
    TEXT_PROBLEM,
    YEARS_PROBLEM,
    TooDeep,
    UnstorableText,
    checked_json,
    clip,
    reasonable_year,
    storable,
)


def years_validator(form, field):
    """WTForms validator: a date or local time within the accepted years."""
    if not reasonable_year(field.data):
        raise StopValidation(YEARS_PROBLEM)


class _CheckedJson:
    """Decodes a request body with the app's JSON provider, then checks it."""

    def __init__(self, provider):
        self.provider = provider

    def loads(self, data, **kwargs):
        try:
            decoded = self.provider.loads(data, **kwargs)
        except RecursionError:  # the decoder gives up past the interpreter's recursion limit
            raise TooDeep() from None
        return checked_json(decoded)

    def dumps(self, value, **kwargs):
        return self.provider.dumps(value, **kwargs)


class ParkappRequest(Request):
    """Flask's request, whose JSON body is depth-limited and holds only storable text."""

    _json_provider = flask_json

    # Flask hands every request the app's JSON provider; decode through the checks instead.
    @property
    def json_module(self):
        return _CheckedJson(self._json_provider)

    @json_module.setter
    def json_module(self, provider):
        self._json_provider = provider

    def on_json_loading_failed(self, e):
        if isinstance(e, UnstorableText):
            raise e
        if isinstance(e, TooDeep):
            raise BadRequest(f"The JSON body is nested deeper than {MAX_JSON_DEPTH} levels.")
        if e is None:
            return super().on_json_loading_failed(e)  # 415: not sent as application/json
        raise BadRequest("The body is not valid JSON.")


def refuse_unstorable_parameters():
    """before_request: a query or form value with NUL or a lone surrogate is a 422."""
    sources = [request.args]
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        sources.append(request.form)
    for values in sources:
        for name, value in values.items(multi=True):
            if not (storable(name) and storable(value)):
                raise Invalid(clip(name.replace("\x00", "")), TEXT_PROBLEM)


def init_app(app):
    """Decode every request body with these checks and refuse unstorable parameters."""
    app.request_class = ParkappRequest
    app.before_request(refuse_unstorable_parameters)
