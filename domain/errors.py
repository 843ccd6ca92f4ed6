"""The kinds of failure the domain reports, each a clear message, never a crash.

Every error names what was wrong so a person (or a device) can fix the input:
``InvalidValue`` names the field and what is allowed, ``Refused`` names the rule
that was broken, ``NotFound`` names what could not be found.
"""


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""

    kind = "domain_error"

    def to_dict(self) -> dict:
        return {"kind": self.kind, "message": str(self)}


class InvalidValue(DomainError):
    """A value is out of range or of the wrong shape."""

    kind = "invalid_value"

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"{field}: {message}")

    def to_dict(self) -> dict:
        return {**super().to_dict(), "field": self.field}


class Refused(DomainError):
    """A well-formed decision that breaks a rule of the program."""

    kind = "refused"

    def __init__(self, rule: str, message: str):
        self.rule = rule
        super().__init__(message)

    def to_dict(self) -> dict:
        return {**super().to_dict(), "rule": self.rule}


class NotFound(DomainError):
    """A named thing (exercise, fact, program) does not exist."""

    kind = "not_found"

    def __init__(self, what: str, message: str):
        self.what = what
        super().__init__(message)
