"""Virtual authenticators for every Dfns credential kind.

Each holds private keys (the simulator never does), answers Dfns registration challenges
(``register``) and implements the dfns-sdk ``Signer`` protocol (``sign``).
"""

from ._base import (
    Authenticator,
    Fault,
    NotAllowedError,
    Rng,
    b64url_decode,
    b64url_encode,
    dfns_challenge_to_webauthn_options,
    encode_api_challenge,
    webauthn_assertion_to_credential_assertion,
    webauthn_registration_to_credential_info,
)
from ._wrapping import WrongSecretError, unwrap_private_key, wrap_private_key
from .factory import authenticator_for
from .key import KeyAuthenticator, client_data_bytes, credential_info_fingerprint
from .passkey import PasskeyAuthenticator, PasskeyCredential
from .password_protected_key import PasswordProtectedKeyAuthenticator
from .recovery_key import (
    RecoveryKeyAuthenticator,
    generate_recovery_code,
    recovery_code_from_uuids,
)
from .soft_webauthn import SoftWebauthnDevice

__all__ = [
    "Authenticator",
    "Fault",
    "KeyAuthenticator",
    "NotAllowedError",
    "PasskeyAuthenticator",
    "PasskeyCredential",
    "PasswordProtectedKeyAuthenticator",
    "RecoveryKeyAuthenticator",
    "Rng",
    "SoftWebauthnDevice",
    "WrongSecretError",
    "b64url_decode",
    "authenticator_for",
    "b64url_encode",
    "client_data_bytes",
    "credential_info_fingerprint",
    "dfns_challenge_to_webauthn_options",
    "encode_api_challenge",
    "generate_recovery_code",
    "recovery_code_from_uuids",
    "unwrap_private_key",
    "webauthn_assertion_to_credential_assertion",
    "webauthn_registration_to_credential_info",
    "wrap_private_key",
]
