"""The advisor's error hierarchy; translated to HTTP or CLI messages only at the edges."""


class AdvisorError(Exception):
    """Base of every error the advisor raises on purpose."""


class InvalidInput(AdvisorError):
    """The caller sent something the advisor cannot accept."""


class InputTooLarge(InvalidInput):
    """The caller sent more than the configured limit."""


class NotFound(AdvisorError):
    """The thing asked for does not exist for this caller."""


class Unauthorized(AdvisorError):
    """The caller's credentials are missing, bad or expired."""


class Forbidden(AdvisorError):
    """The caller is known but may not do this."""


class BackendUnavailable(AdvisorError):
    """A back-end (model, database) cannot serve the request."""
