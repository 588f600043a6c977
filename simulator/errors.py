"""Errors carrying the Dfns status and message.

Every rejection inside the simulator is an :class:`ApiError`; the HTTP skin renders it in the
Dfns error envelope (``{"error": {"id", "status", "message", "details"}, "message"}``).
The message strings below are the ones the Dfns documentation gives (errors.md §2) or, where
it gives none, the simulator's documented choice (errors.md §3).
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A rejection with an HTTP status and a Dfns-style message."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details or {}
        self.code = code
        self.headers = headers or {}

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"ApiError({self.status}, {self.message!r})"


# -- documented messages (errors.md §2) -------------------------------------------------
NOT_AUTHORIZED = "Not Authorized."
USER_ACTION_INVALID = "user action signature is missing or invalid"
USER_ACTION_USED = "user action has already been used"
CHALLENGE_INVALID = "Challenge token is not valid."
USER_DEACTIVATED = "User account has been deactivated."
USER_NOT_FOUND = "User not found"
NO_USABLE_CREDENTIAL = "User does not have a credential that can be used for the application."
INVALID_CODE = "Invalid code"
REGISTRATION_CODE_EXPIRED = "Registration code expired"
USER_EXISTS = "User already exists."
NOT_RECOVERY_CREDENTIAL = "Credential cannot be used as a recovery factor."
APP_SELF_MODIFY = "application cannot modify its own state"
APP_NOT_FOUND = "application not found"
NONCE_INVALID = "request nonce is missing or invalid"
NONCE_USED = "request nonce has already been used"

# -- simulator choices where the sources give no text (errors.md §3) ------------------------
APP_INVALID = "application not found or inactive"
INVALID_CREDENTIAL = "Invalid credential"
INVALID_CLIENT_DATA = "invalid clientData"
INVALID_CLIENT_DATA_TYPE = "invalid client data type"
CHALLENGE_MISMATCH = "challenge mismatch"
ORIGIN_MISMATCH = "origin mismatch"
CROSS_ORIGIN = "cross-origin requests are not allowed"
RPID_MISMATCH = "rpId mismatch"
USER_NOT_PRESENT = "user presence flag not set"
USER_NOT_VERIFIED = "user verification required but not performed"
ATTESTED_DATA_MISSING = "attested credential data missing"
CREDENTIAL_ID_MISMATCH = "credential id does not match authenticator data"
UNSUPPORTED_ALGORITHM = "unsupported algorithm"
SIGN_COUNT = "signature counter did not increase"
INVALID_SIGNATURE = "invalid signature"
INVALID_ATTESTATION = "invalid attestation"
INVALID_PUBLIC_KEY = "invalid public key"
SECOND_FACTOR_REQUIRED = "second factor required"


def bad_request(message: str, **details: Any) -> ApiError:
    return ApiError(400, message, details=details or None)


def unauthorized(message: str = NOT_AUTHORIZED, **details: Any) -> ApiError:
    return ApiError(401, message, details=details or None)


def forbidden(message: str, **details: Any) -> ApiError:
    return ApiError(403, message, details=details or None)


def not_found(message: str, **details: Any) -> ApiError:
    return ApiError(404, message, details=details or None)


def conflict(message: str, **details: Any) -> ApiError:
    return ApiError(409, message, details=details or None)


def not_permitted(user_kind: str, user_id: str, operation: str) -> ApiError:
    """403 in the documented ``<Kind> <id> is not authorized to perform operation (<Op>)`` form."""
    return ApiError(
        403,
        f"{user_kind} {user_id} is not authorized to perform operation ({operation})",
        details={"operation": operation},
    )
