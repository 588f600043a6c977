"""``Fido2`` passkeys: a virtual WebAuthn authenticator *plus* the browser part that builds
clientDataJSON, taking/returning the WebAuthn JSON forms (DESIGN.md contract).

Knobs follow the Chrome DevTools virtual authenticator; faults follow the FIDO conformance
tool.  Built on fido2 2.x structures; keys live in ``cryptography``.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fido2 import cbor
from fido2.cose import ES256, RS256, CoseKey, EdDSA
from fido2.webauthn import AttestedCredentialData, AuthenticatorData

from ._attestation import AttestationPki, build_attestation_pki
from ._base import (
    CREATE_FAULTS,
    GET_FAULTS,
    Authenticator,
    Fault,
    NotAllowedError,
    PrivateKey,
    Rng,
    as_faults,
    b64url_decode,
    b64url_encode,
    compact_json,
    dfns_challenge_to_webauthn_options,
    flip_bit,
    generate_private_key,
    sign_bytes,
    strip_padding,
    webauthn_assertion_to_credential_assertion,
    webauthn_registration_to_credential_info,
)

FLAG = AuthenticatorData.FLAG
# COSE algorithm → (key algorithm, fido2 COSE class)
COSE_ALGORITHMS: dict[int, tuple[str, type[CoseKey]]] = {
    -7: ("P-256", ES256),
    -8: ("Ed25519", EdDSA),
    -257: ("RSA-2048", RS256),
}
ATTESTATION_FORMATS = ("none", "packed-self", "packed", "fido-u2f")
COUNTER_MODES = ("per-credential", "global", "zero", "regressing")
TRANSPORTS = ("usb", "nfc", "ble", "internal", "hybrid")
_REGRESSING_START = 1_000_000


@dataclass(kw_only=True)
class PasskeyCredential:
    """One credential held by the authenticator (mutable: its counter moves)."""

    credential_id: bytes
    private_key: PrivateKey
    alg: int
    rp_id: str
    user_handle: bytes
    resident: bool
    counter: int = 0
    last_reported: int = 0

    @property
    def cose_key(self) -> CoseKey:
        return COSE_ALGORITHMS[self.alg][1].from_cryptography_key(self.private_key.public_key())

    @property
    def attested_credential_data(self) -> AttestedCredentialData:
        # what a relying party (e.g. fido2.server) stores after registration
        return AttestedCredentialData.create(b"\0" * 16, self.credential_id, self.cose_key)


def origin_host(origin: str) -> str:
    return urlparse(origin).hostname or ""


class PasskeyAuthenticator(Authenticator):
    kind = "Fido2"

    def __init__(
        self,
        origin: str = "http://localhost:3000",
        *,
        protocol: str = "ctap2",
        transport: str = "internal",
        has_resident_key: bool = True,
        has_user_verification: bool = True,
        is_user_verified: bool = True,
        automatic_presence_simulation: bool = True,
        default_backup_eligibility: bool = False,
        default_backup_state: bool = False,
        aaguid: bytes | None = None,
        algorithms: Iterable[int] = (-7, -8, -257),
        attestation: str | None = None,
        resident_key_capacity: int = 64,
        counter_mode: str = "per-credential",
        challenge_encoding: str = "browser",
        faults: Iterable[Fault | str] = (),
        include_user_handle: bool = True,
        seed: int | None = None,
    ) -> None:
        if protocol not in ("ctap2", "u2f"):
            raise ValueError(f"unknown protocol {protocol!r}")
        if transport not in TRANSPORTS:
            raise ValueError(f"unknown transport {transport!r}; expected one of {TRANSPORTS}")
        if counter_mode not in COUNTER_MODES:
            raise ValueError(f"unknown counter_mode {counter_mode!r}; expected {COUNTER_MODES}")
        self.rng = Rng(seed)
        self.origin = origin
        self.protocol = protocol
        self.transport = transport
        u2f = protocol == "u2f"
        # a U2F device: P-256 only, no resident keys, no UV, zero AAGUID, fido-u2f attestation
        self.has_resident_key = has_resident_key and not u2f
        self.has_user_verification = has_user_verification and not u2f
        self.is_user_verified = is_user_verified
        self.automatic_presence_simulation = automatic_presence_simulation
        self.default_backup_eligibility = default_backup_eligibility
        self.default_backup_state = default_backup_state
        self.algorithms = (-7,) if u2f else tuple(algorithms)
        unknown = [a for a in self.algorithms if a not in COSE_ALGORITHMS]
        if unknown:
            raise ValueError(f"unsupported COSE algorithms {unknown}")
        attestation = attestation or ("fido-u2f" if u2f else "none")
        if attestation not in ATTESTATION_FORMATS:
            raise ValueError(f"unknown attestation {attestation!r}; expected {ATTESTATION_FORMATS}")
        self.attestation = attestation
        if u2f or attestation == "fido-u2f":
            self.aaguid = b"\0" * 16
        else:
            self.aaguid = aaguid if aaguid is not None else self.rng.bytes(16, "aaguid")
        if len(self.aaguid) != 16:
            raise ValueError("aaguid must be 16 bytes")
        self.resident_key_capacity = resident_key_capacity
        self.counter_mode = counter_mode
        self.challenge_encoding = challenge_encoding
        self.default_faults = as_faults(faults)
        self._check_statement_faults(self.default_faults & CREATE_FAULTS)  # fail at setup
        self.include_user_handle = include_user_handle
        self.credentials: dict[bytes, PasskeyCredential] = {}
        self._global_counter = 0
        self._pki: AttestationPki | None = None

    # ------------------------------------------------------------------ state

    @property
    def pki(self) -> AttestationPki:
        if self._pki is None:
            self._pki = build_attestation_pki(self.aaguid, self.rng)
        return self._pki

    @property
    def attestation_root_pem(self) -> bytes:
        """Trust anchor for ``packed`` / ``fido-u2f`` chains (give it to the verifier)."""
        return self.pki.root_pem

    def import_credential(
        self,
        *,
        rp_id: str,
        user_handle: bytes,
        private_key: PrivateKey,
        credential_id: bytes,
        alg: int = -7,
        resident: bool = True,
        counter: int = 0,
    ) -> PasskeyCredential:
        """Install a known credential (reproducing a worked example, replaying a bug)."""
        cred = PasskeyCredential(
            credential_id=credential_id, private_key=private_key, alg=alg, rp_id=rp_id,
            user_handle=user_handle, resident=resident, counter=counter,
        )
        self.credentials[credential_id] = cred
        return cred

    def _next_counter(self, cred: PasskeyCredential, faults: frozenset[Fault]) -> int:
        if Fault.COUNTER_NOT_INCREASED in faults:
            if cred.last_reported == 0:
                # 0 again after 0 is legal (an authenticator without a counter): the fault
                # would pass silently, so say so instead of sending a valid assertion.
                raise ValueError("counter-not-increased needs a credential whose counter has "
                                 "moved: make one assertion first (not with counter_mode 'zero')")
            return cred.last_reported
        if self.counter_mode == "zero":
            value = 0
        elif self.counter_mode == "global":
            self._global_counter += 1
            value = self._global_counter
        elif self.counter_mode == "regressing":
            cred.counter = (cred.counter or _REGRESSING_START) - 1
            value = cred.counter
        else:
            cred.counter += 1
            value = cred.counter
        cred.last_reported = value
        return value

    # ------------------------------------------------------------------ shared pieces

    def _faults(self, per_call: Iterable[Fault | str] | None, allowed: frozenset[Fault],
                ceremony: str) -> frozenset[Fault]:
        requested = as_faults(per_call)
        wrong = requested - allowed
        if wrong:
            raise ValueError(f"faults {sorted(f.value for f in wrong)} do not apply to {ceremony}")
        return requested | (self.default_faults & allowed)

    def _client_data(self, type_: str, challenge_b64: str, faults: frozenset[Fault]) -> bytes:
        challenge = b64url_decode(challenge_b64)
        if Fault.WRONG_CHALLENGE in faults:
            challenge = flip_bit(challenge, 0)
        if Fault.WRONG_TYPE in faults:
            type_ = "webauthn.get" if type_ == "webauthn.create" else "webauthn.create"
        origin = "https://evil.example" if Fault.WRONG_ORIGIN in faults else self.origin
        # browser member order: type, challenge, origin, crossOrigin
        data = {
            "type": type_,
            "challenge": b64url_encode(challenge),
            "origin": origin,
            "crossOrigin": Fault.CROSS_ORIGIN_TRUE in faults,
        }
        return compact_json(data).encode("utf-8")

    def _flags(self, faults: frozenset[Fault], user_verification: str | None) -> FLAG:
        if not self.automatic_presence_simulation:
            raise NotAllowedError("no user presence: automatic_presence_simulation is off")
        if user_verification == "required" and not self.has_user_verification:
            raise NotAllowedError("user verification required but the authenticator has none")
        flags = FLAG(0)
        if Fault.UP_CLEARED not in faults:
            flags |= FLAG.UP
        if self.has_user_verification and self.is_user_verified and Fault.UV_CLEARED not in faults:
            flags |= FLAG.UV
        if Fault.BS_WITHOUT_BE in faults:
            flags |= FLAG.BS
        else:
            if self.default_backup_eligibility:
                flags |= FLAG.BE
            if self.default_backup_eligibility and self.default_backup_state:
                flags |= FLAG.BS
        return flags

    def _rp_id_hash(self, rp_id: str, faults: frozenset[Fault]) -> bytes:
        if Fault.WRONG_RP_ID_HASH in faults:
            rp_id = "evil." + rp_id
        return hashlib.sha256(rp_id.encode("utf-8")).digest()

    def _sign(self, cred: PasskeyCredential, data: bytes, faults: frozenset[Fault]) -> bytes:
        signature = sign_bytes(cred.private_key, data, deterministic=self.rng.seeded)
        return flip_bit(signature, -1) if Fault.BOGUS_SIGNATURE in faults else signature

    # ------------------------------------------------------------------ create

    def _pick_alg(self, params: Iterable[Mapping[str, Any]]) -> int:
        for param in params:
            if param.get("type", "public-key") != "public-key":
                continue
            if param.get("alg") in self.algorithms:
                return int(param["alg"])
        raise NotAllowedError(
            f"NotSupportedError: none of pubKeyCredParams is supported (have {self.algorithms})"
        )

    def _attestation_statement(
        self, fmt: str, cred: PasskeyCredential, auth_data: bytes, client_data_hash: bytes,
        faults: frozenset[Fault],
    ) -> dict[str, Any]:
        if fmt == "none":
            return {}
        if fmt == "packed-self":
            return {"alg": cred.alg, "sig": self._sign(cred, auth_data + client_data_hash, faults)}
        pki = self.pki
        cert = pki.cert
        if Fault.X5C_EXPIRED in faults:
            cert = pki.expired_cert
        elif Fault.X5C_WRONG_KEY in faults:
            cert = pki.wrong_key_cert
        if fmt == "packed":
            signed = auth_data + client_data_hash
        else:  # fido-u2f: 0x00 ‖ rpIdHash ‖ clientDataHash ‖ credId ‖ uncompressed P-256 point
            public = cred.private_key.public_key()
            assert isinstance(public, ec.EllipticCurvePublicKey)  # noqa: S101
            point = public.public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
            signed = b"\0" + auth_data[:32] + client_data_hash + cred.credential_id + point
        sig = sign_bytes(pki.key, signed, deterministic=self.rng.seeded)
        if Fault.BOGUS_SIGNATURE in faults:
            sig = flip_bit(sig, -1)
        stmt: dict[str, Any] = {"sig": sig}
        if fmt == "packed":
            stmt = {"alg": -7, "sig": sig}
        der = cert.public_bytes(serialization.Encoding.DER)
        if Fault.X5C_EMPTY in faults:
            stmt["x5c"] = []
        elif Fault.X5C_MISSING not in faults:
            stmt["x5c"] = [der]
        return stmt

    def _check_statement_faults(self, requested: frozenset[Fault]) -> None:
        # asked-for faults that the configured statement cannot carry would pass silently
        if Fault.X5C_EXPIRED in requested and self.attestation == "fido-u2f":
            # WebAuthn §8.6 (fido-u2f) has no validity-period step; the simulator checks it
            # for packed only, so an expired certificate here would not be a failure.
            raise ValueError("fault 'x5c-expired' needs attestation 'packed', not 'fido-u2f'")
        if self.attestation in ("packed", "fido-u2f"):
            return
        needs_x5c = requested & {Fault.X5C_MISSING, Fault.X5C_EMPTY, Fault.X5C_EXPIRED,
                                 Fault.X5C_WRONG_KEY}
        if needs_x5c:
            raise ValueError(f"faults {sorted(f.value for f in needs_x5c)} need attestation "
                             f"'packed' or 'fido-u2f', not {self.attestation!r}")
        if Fault.BOGUS_SIGNATURE in requested and self.attestation == "none":
            raise ValueError("bogus-signature on create needs a signed attestation statement")

    def create(
        self,
        options: Mapping[str, Any],
        faults: Iterable[Fault | str] | None = None,
        *,
        private_key: PrivateKey | None = None,
        credential_id: bytes | None = None,
    ) -> dict[str, Any]:
        """``navigator.credentials.create({publicKey: options})`` in JSON form.

        ``private_key`` / ``credential_id`` replace the freshly drawn ones, to reproduce a
        known registration (worked examples, bug replays); the key must suit the chosen alg."""
        active = self._faults(faults, CREATE_FAULTS, "create")
        self._check_statement_faults(active)  # per call and default faults alike
        rp_id = (options.get("rp") or {}).get("id") or origin_host(self.origin)
        user_handle = b64url_decode(options["user"]["id"])
        excluded = {b64url_decode(c["id"]) for c in options.get("excludeCredentials") or []}
        if any(self.credentials[cid].rp_id == rp_id for cid in excluded & self.credentials.keys()):
            raise NotAllowedError("InvalidStateError: a credential in excludeCredentials exists")
        alg = self._pick_alg(options.get("pubKeyCredParams") or [{"type": "public-key", "alg": -7}])
        selection = options.get("authenticatorSelection") or {}
        rk_wanted = selection.get("residentKey") or (
            "required" if selection.get("requireResidentKey") else "discouraged"
        )
        if rk_wanted == "required" and not self.has_resident_key:
            raise NotAllowedError("resident key required but the authenticator has none")
        resident = self.has_resident_key and rk_wanted in ("required", "preferred")
        if resident:
            # a new discoverable credential for the same (rp, user) replaces the old one
            for cid in [c.credential_id for c in self.credentials.values()
                        if c.resident and c.rp_id == rp_id and c.user_handle == user_handle]:
                del self.credentials[cid]
            if sum(c.resident for c in self.credentials.values()) >= self.resident_key_capacity:
                raise NotAllowedError("resident-key storage full")
        flags = self._flags(active, selection.get("userVerification"))
        if self.attestation == "fido-u2f" and alg != -7:
            raise NotAllowedError("fido-u2f attestation needs an ES256 credential")

        key = private_key or generate_private_key(COSE_ALGORITHMS[alg][0], self.rng, "cred-key")
        cred = PasskeyCredential(
            credential_id=credential_id
            or self.rng.bytes(16 if self.protocol == "u2f" else 32, "cred-id"),
            private_key=key, alg=alg, rp_id=rp_id, user_handle=user_handle, resident=resident,
        )
        counter = 0 if self.counter_mode in ("per-credential", "zero") else self._next_counter(
            cred, active)
        attested = AttestedCredentialData.create(self.aaguid, cred.credential_id, cred.cose_key)
        auth_data = bytes(AuthenticatorData.create(
            self._rp_id_hash(rp_id, active), flags | FLAG.AT, counter, attested
        ))
        if Fault.TRAILING_BYTES in active:
            auth_data += b"\x00\xff\x00"
        client_data = self._client_data("webauthn.create", options["challenge"], active)
        client_data_hash = hashlib.sha256(client_data).digest()
        fmt = "packed" if self.attestation == "packed-self" else self.attestation
        stmt = self._attestation_statement(self.attestation, cred, auth_data, client_data_hash,
                                           active)
        if Fault.UNKNOWN_ATTESTATION_FORMAT in active:
            fmt = "x-dfns-sim-unknown"
        attestation_object = cbor.encode({"fmt": fmt, "attStmt": stmt, "authData": auth_data})
        if Fault.MALFORMED_CBOR in active:
            # the map header claims one more entry than follows: every decoder runs off the end
            attestation_object = bytes([attestation_object[0] + 1]) + attestation_object[1:]
        self.credentials[cred.credential_id] = cred

        cred_id = b64url_encode(cred.credential_id)
        public_der = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        extensions: dict[str, Any] = {}
        if (options.get("extensions") or {}).get("credProps"):
            extensions["credProps"] = {"rk": resident}
        return {
            "id": cred_id,
            "rawId": cred_id,
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url_encode(client_data),
                "attestationObject": b64url_encode(attestation_object),
                "authenticatorData": b64url_encode(auth_data),
                "transports": [self.transport],
                "publicKeyAlgorithm": alg,
                "publicKey": b64url_encode(public_der),
            },
            "authenticatorAttachment": "platform" if self.transport == "internal"
            else "cross-platform",
            "clientExtensionResults": extensions,
        }

    # ------------------------------------------------------------------ get

    def _find_credential(self, rp_id: str, allow: list[Mapping[str, Any]]) -> PasskeyCredential:
        if allow:
            for item in allow:
                cred = self.credentials.get(b64url_decode(item["id"]))
                if cred is not None and cred.rp_id == rp_id:
                    return cred
            raise NotAllowedError(f"no credential in allowCredentials for rpId {rp_id!r}")
        for cred in self.credentials.values():  # discoverable flow
            if cred.resident and cred.rp_id == rp_id:
                return cred
        raise NotAllowedError(f"no discoverable credential for rpId {rp_id!r}")

    def get(self, options: Mapping[str, Any], faults: Iterable[Fault | str] | None = None
            ) -> dict[str, Any]:
        """``navigator.credentials.get({publicKey: options})`` in JSON form."""
        active = self._faults(faults, GET_FAULTS, "get")
        rp_id = options.get("rpId") or origin_host(self.origin)
        cred = self._find_credential(rp_id, list(options.get("allowCredentials") or []))
        flags = self._flags(active, options.get("userVerification"))
        counter = self._next_counter(cred, active)
        auth_data = bytes(AuthenticatorData.create(self._rp_id_hash(rp_id, active), flags, counter))
        if Fault.TRAILING_BYTES in active:
            auth_data += b"\x00\xff\x00"
        client_data = self._client_data("webauthn.get", options["challenge"], active)
        signature = self._sign(cred, auth_data + hashlib.sha256(client_data).digest(), active)
        cred_id = b64url_encode(cred.credential_id)
        response: dict[str, Any] = {
            "clientDataJSON": b64url_encode(client_data),
            "authenticatorData": b64url_encode(auth_data),
            "signature": b64url_encode(signature),
        }
        if self.include_user_handle:
            response["userHandle"] = b64url_encode(cred.user_handle)
        return {
            "id": cred_id,
            "rawId": cred_id,
            "type": "public-key",
            "response": response,
            "authenticatorAttachment": "platform" if self.transport == "internal"
            else "cross-platform",
            "clientExtensionResults": {},
        }

    # ------------------------------------------------------------------ Signer protocol

    def register(self, challenge: Mapping[str, Any],
                 faults: Iterable[Fault | str] | None = None) -> dict[str, Any]:
        options = dfns_challenge_to_webauthn_options(
            challenge, challenge_encoding=self.challenge_encoding
        )
        response = self.create(options, faults=faults)
        return {
            "credentialKind": self.kind,
            "credentialInfo": webauthn_registration_to_credential_info(response),
        }

    def sign(self, challenge: Mapping[str, Any],
             faults: Iterable[Fault | str] | None = None) -> dict[str, Any]:
        allowed = {strip_padding(str(c.get("id", "")))
                   for c in self._allowed_ids(challenge, "webauthn")}
        ours = {b64url_encode(cid) for cid in self.credentials}
        if not allowed & ours:
            raise self._no_allowed_credential("webauthn", ours)
        options = dfns_challenge_to_webauthn_options(
            challenge, challenge_encoding=self.challenge_encoding
        )
        response = self.get(options, faults=faults)
        return {
            "kind": self.kind,
            "credentialAssertion": webauthn_assertion_to_credential_assertion(response),
        }


def client_data_of(response: Mapping[str, Any]) -> dict[str, Any]:
    """Parsed clientDataJSON of a WebAuthn JSON response (handy in tests and scenarios)."""
    return json.loads(b64url_decode(response["response"]["clientDataJSON"]))


def sign_count_of(response: Mapping[str, Any]) -> int:
    inner = response["response"]
    return struct.unpack(">I", b64url_decode(inner["authenticatorData"])[33:37])[0]
