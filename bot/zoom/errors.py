"""What can go wrong talking to Zoom, as named exceptions the callers can answer in words."""

from __future__ import annotations


class ZoomError(Exception):
    """Base class: every failure of a Zoom call is one of these, never a raw httpx error."""

    #: Zoom's numeric error code or OAuth error string, safe to log (never a token).
    code: int | str | None = None


class ZoomUnavailable(ZoomError):
    """Zoom could not be reached, timed out or answered 5xx: worth retrying later."""

    def __init__(self, detail: str, *, status: int | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.code = status


class ZoomRateLimited(ZoomError):
    """Zoom answered 429; `retry_after` is the wait in seconds it asked for, when it said."""

    def __init__(self, retry_after: float | None, *, code: int | None = None) -> None:
        super().__init__("Zoom rate limit reached")
        self.retry_after = retry_after
        self.code = code or 429


class ZoomProtocolError(ZoomError):
    """Zoom's answer was not what its API promises (not JSON, missing fields, wrong types)."""


class OAuthError(ZoomError):
    """The OAuth server refused a request: `error` is the RFC 6749/8628 code."""

    def __init__(self, error: str, reason: str = "", *, status: int | None = None) -> None:
        super().__init__(f"{error}: {reason}" if reason else error)
        self.error = error
        self.reason = reason
        self.status = status
        self.code = error


class ZoomAPIError(ZoomError):
    """A REST call was refused with Zoom's `{"code": ..., "message": ...}` body."""

    def __init__(self, status: int, code: int | None, message: str) -> None:
        super().__init__(f"HTTP {status}, Zoom code {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class InvalidAccessToken(ZoomAPIError):
    """Code 124: the access token is expired or revoked."""


class MissingScope(ZoomAPIError):
    """Code 4700: the Zoom app lacks a scope; `scopes` names what to add."""

    def __init__(self, status: int, code: int | None, message: str, scopes: list[str]) -> None:
        super().__init__(status, code, message)
        self.scopes = scopes
