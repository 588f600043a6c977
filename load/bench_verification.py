"""Benchmark: core verification call vs a bare ``cryptography`` verify of the same signature.

Run ``python -m load.bench_verification``. Rounds of both are interleaved and the median
per-round ratio is reported (the machine is noisy). Writes reports/bench/verification.json.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from fido2.cose import ES256
from fido2.webauthn import AuthenticatorData

from simulator.verification import (
    RelyingParty,
    VerifyingKey,
    load_cose_key,
    load_public_key_pem,
    verify_key_assertion,
    verify_passkey_assertion,
)

CHALLENGE = base64.urlsafe_b64encode(b"ch-5tq2m-4k8pf-8s3n1c7e2b9v0x4r").decode().rstrip("=")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _client_data(kind: str) -> bytes:
    return json.dumps({"type": kind, "challenge": CHALLENGE, "origin": "https://app.example.com",
                       "crossOrigin": False}, separators=(",", ":")).encode()


def _key_case(name: str, private: Any) -> tuple[Callable[[], Any], Callable[[], Any]]:
    cd = _client_data("key.get")
    pub = private.public_key()
    if isinstance(private, ed25519.Ed25519PrivateKey):
        sig = private.sign(cd)
        bare = lambda: pub.verify(sig, cd)  # noqa: E731
    elif isinstance(private, ec.EllipticCurvePrivateKey):
        sig = private.sign(cd, ec.ECDSA(hashes.SHA256()))
        bare = lambda: pub.verify(sig, cd, ec.ECDSA(hashes.SHA256()))  # noqa: E731
    else:
        sig = private.sign(cd, padding.PKCS1v15(), hashes.SHA256())
        bare = lambda: pub.verify(sig, cd, padding.PKCS1v15(), hashes.SHA256())  # noqa: E731
    pem = pub.public_bytes(serialization.Encoding.PEM,
                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    key: VerifyingKey = load_public_key_pem(pem)  # loaded once, as the store would keep it
    assertion = {"credId": "cred-1", "clientData": _b64(cd), "signature": _b64(sig)}

    def core() -> Any:
        return verify_key_assertion(assertion, challenge=CHALLENGE, public_key=key)

    core()
    return core, bare


def _fido2_case() -> tuple[Callable[[], Any], Callable[[], Any]]:
    private = ec.generate_private_key(ec.SECP256R1())
    pub = private.public_key()
    rp = RelyingParty(rp_id="app.example.com", origin="https://app.example.com")
    flags = AuthenticatorData.FLAG.UP | AuthenticatorData.FLAG.UV  # 0x05
    ad = bytes(AuthenticatorData.create(rp.rp_id_hash, flags, 7))
    cd = _client_data("webauthn.get")
    signed = ad + hashlib.sha256(cd).digest()
    sig = private.sign(signed, ec.ECDSA(hashes.SHA256()))
    key, alg = load_cose_key(ES256.from_cryptography_key(pub))
    assertion = {"credId": "cred", "clientData": _b64(cd), "authenticatorData": _b64(ad),
                 "signature": _b64(sig), "userHandle": _b64(b"us-1")}
    rps = [rp]

    def core() -> Any:
        return verify_passkey_assertion(assertion, challenge=CHALLENGE, relying_parties=rps,
                                        public_key=key, cose_alg=alg, stored_sign_count=3,
                                        user_id="us-1")

    def bare() -> Any:
        return pub.verify(sig, signed, ec.ECDSA(hashes.SHA256()))

    core()
    return core, bare


def _rate(fn: Callable[[], Any], n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return n / (time.perf_counter() - t0)


def measure(core: Callable[[], Any], bare: Callable[[], Any], rounds: int, seconds: float
            ) -> dict[str, float]:
    t0 = time.perf_counter()
    bare()
    n = max(20, int(seconds / max(time.perf_counter() - t0, 1e-6)))
    ratios, cores, bares = [], [], []
    for i in range(rounds):
        # alternate which goes first so drift does not favour either side
        if i % 2:
            c, b = _rate(core, n), _rate(bare, n)
        else:
            b, c = _rate(bare, n), _rate(core, n)
        cores.append(c)
        bares.append(b)
        ratios.append(c / b)
    return {"core_ops_s": statistics.median(cores), "bare_ops_s": statistics.median(bares),
            "ratio": statistics.median(ratios), "rounds": rounds, "ops_per_round": n}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=105)
    parser.add_argument("--seconds", type=float, default=0.02, help="per side per round")
    parser.add_argument("--out", default="reports/bench/verification.json")
    args = parser.parse_args(argv)
    cases = {
        "P-256": lambda: _key_case("P-256", ec.generate_private_key(ec.SECP256R1())),
        "Ed25519": lambda: _key_case("Ed25519", ed25519.Ed25519PrivateKey.generate()),
        "secp256k1": lambda: _key_case("secp256k1", ec.generate_private_key(ec.SECP256K1())),
        "RSA-2048": lambda: _key_case(
            "RSA-2048", rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        "Fido2 ES256 assertion": _fido2_case,
    }
    results = {}
    print(f"{'case':<24}{'core ops/s':>12}{'bare ops/s':>12}{'ratio':>8}")
    for name, make in cases.items():
        core, bare = make()
        r = measure(core, bare, args.rounds, args.seconds)
        results[name] = r
        print(f"{name:<24}{r['core_ops_s']:>12.0f}{r['bare_ops_s']:>12.0f}{r['ratio']:>8.3f}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"target_ratio": 0.8, "results": results}, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
