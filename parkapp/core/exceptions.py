"""Domain errors raised by services; `parkapp.errors` turns them into 4xx answers."""


class DomainError(Exception):
    """A rule of the domain refused the operation."""

    status = 400
    code = "bad_request"

    def __init__(self, message, *, code=None, errors=None):
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.errors = errors or {}

    @property
    def words(self):
        """The message for a page: no internal field names."""
        return self.message

    def beside(self, _field):
        """What a page shows next to the named field."""
        return [self.words]


class NotFound(DomainError):
    status, code = 404, "not_found"


class Forbidden(DomainError):
    status, code = 403, "forbidden"


class Conflict(DomainError):
    status, code = 409, "conflict"


class Invalid(DomainError):
    """Well-formed input with invalid values; `errors` names the fields."""

    status, code = 422, "invalid"

    def __init__(self, field, problem, message=None):
        super().__init__(message or f"{field}: {problem}", errors={field: [problem]})
        self.field = field
        self._words = message or f"{field.replace('_', ' ').capitalize()}: {problem}"
        self._custom = message is not None

    @property
    def words(self):
        """The field's name in words (`vehicle_plate` -> "Vehicle plate"), for pages."""
        return self._words

    def beside(self, field):
        """Next to the field its name goes without saying: the problem alone."""
        return [self.message] if self._custom else self.errors.get(field, [self.words])


class SpotUnavailable(Conflict):
    code = "spot_unavailable"


class LotFull(Conflict):
    code = "lot_full"


class VehicleBusy(Conflict):
    code = "vehicle_busy"


class WrongState(Conflict):
    code = "wrong_state"
