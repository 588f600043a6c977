"""Client-side signing cost of each virtual authenticator, against bare ``cryptography``.

Run: ``python -m load.bench_authenticators [--seconds 1.0] [--out FILE]``
(default FILE: ``reports/bench/authenticators.json``)

Not a timed test: figures depend on the machine.  Load profiles use them to know how much of a
request's latency budget the simulated client spends on signing.  Each row times the full
authenticator call (clientData building, encoding, key unwrapping where the kind needs it)
and, in the same run, ``cryptography`` signing the very same bytes with the very same key.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cryptography

from virtual_authenticators import (
    KeyAuthenticator,
    PasskeyAuthenticator,
    PasswordProtectedKeyAuthenticator,
    RecoveryKeyAuthenticator,
    b64url_decode,
    b64url_encode,
)
from virtual_authenticators._base import sign_bytes

CHALLENGE = "Y2gtNXRxMm0tNGs4cGYtOHMzbjFjN2UyYjl2MHg0cg"
ORIGIN = "https://app.example.com"
RP_ID = "app.example.com"


def rate(fn: Callable[[], Any], seconds: float) -> float:
    """Operations per second, measured in batches until ``seconds`` have passed."""
    fn()  # warm caches (PBKDF2, unwrapped keys, imports)
    count, batch, start = 0, 1, time.perf_counter()
    while True:
        for _ in range(batch):
            fn()
        count += batch
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return count / elapsed
        batch = min(batch * 2, 256)


def key_case(auth: KeyAuthenticator, challenge: dict[str, Any]) -> tuple[Callable, Callable]:
    assertion = auth.sign(challenge)["credentialAssertion"]
    data, key = b64url_decode(assertion["clientData"]), auth.private_key
    return (lambda: auth.sign(challenge)), (lambda: sign_bytes(key, data))


def key_challenge(list_name: str, item: dict[str, Any]) -> dict[str, Any]:
    return {"challenge": CHALLENGE, "allowCredentials": {list_name: [item]}}


def cases() -> dict[str, tuple[Callable, Callable]]:
    out: dict[str, tuple[Callable, Callable]] = {}
    for alg in ("P-256", "secp256k1", "Ed25519", "RSA-2048"):
        auth = KeyAuthenticator(alg, "python-sdk", ORIGIN, seed=1)
        out[f"Key {alg}"] = key_case(auth, key_challenge("key", {"id": auth.credential_id}))

    ppk = PasswordProtectedKeyAuthenticator(password="benchmark", username="bench@example.com",
                                            seed=2)
    out["PasswordProtectedKey P-256"] = key_case(ppk, key_challenge("passwordProtectedKey", {
        "id": ppk.credential_id, "encryptedPrivateKey": ppk.encrypted_private_key}))

    recovery = RecoveryKeyAuthenticator("bench@example.com", seed=3)
    new_credentials = {"firstFactorCredential": {"credentialKind": "Key", "credentialInfo": {
        "credId": "A", "clientData": "B", "attestationData": "C"}}}
    blob = recovery.encrypted_private_key
    sample = recovery.recovery_assertion(new_credentials, blob)["credentialAssertion"]
    data, key = b64url_decode(sample["clientData"]), recovery.private_key
    out["RecoveryKey assertion (unwrap+sign)"] = (
        lambda: recovery.recovery_assertion(new_credentials, blob),
        lambda: sign_bytes(key, data),
    )

    for cose_alg, name in ((-7, "ES256"), (-8, "EdDSA"), (-257, "RS256")):
        passkey = PasskeyAuthenticator(origin=ORIGIN, algorithms=(cose_alg,), seed=4)
        created = passkey.create({
            "rp": {"id": RP_ID, "name": "Bench"},
            "user": {"id": b64url_encode(b"us-bench"), "name": "b", "displayName": "b"},
            "challenge": b64url_encode(b"x" * 32),
            "pubKeyCredParams": [{"type": "public-key", "alg": cose_alg}],
        })
        options = {"rpId": RP_ID, "challenge": b64url_encode(b"y" * 32),
                   "allowCredentials": [{"type": "public-key", "id": created["id"]}]}
        got = passkey.get(options)["response"]
        signed = b64url_decode(got["authenticatorData"]) + hashlib.sha256(
            b64url_decode(got["clientDataJSON"])).digest()
        cred_key = next(iter(passkey.credentials.values())).private_key
        out[f"Passkey {name} get"] = (
            (lambda p=passkey, o=options: p.get(o)),
            (lambda k=cred_key, s=signed: sign_bytes(k, s)),
        )
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0,
                        help="time per row and column (split into three interleaved rounds)")
    parser.add_argument("--out", default="reports/bench/authenticators.json")
    args = parser.parse_args(argv)

    rows = []
    for name, (ours, bare) in cases().items():
        # interleaved best-of-3, so a noisy neighbour hurts both columns alike
        ours_rate = bare_rate = 0.0
        for _ in range(3):
            ours_rate = max(ours_rate, rate(ours, args.seconds / 3))
            bare_rate = max(bare_rate, rate(bare, args.seconds / 3))
        rows.append({"kind": name, "authenticator_ops_per_s": round(ours_rate, 1),
                     "bare_cryptography_ops_per_s": round(bare_rate, 1),
                     "ratio": round(ours_rate / bare_rate, 3),
                     "overhead_us": round(1e6 / ours_rate - 1e6 / bare_rate, 1)})

    header = (f"{'kind':38} {'authenticator/s':>16} {'bare crypto/s':>14} {'ratio':>6} "
              f"{'overhead µs':>12}")
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['kind']:38} {r['authenticator_ops_per_s']:>16,.0f} "
              f"{r['bare_cryptography_ops_per_s']:>14,.0f} {r['ratio']:>6.2f} "
              f"{r['overhead_us']:>12,.1f}")
    report = {
        "python": platform.python_version(),
        "cryptography": cryptography.__version__,
        "machine": platform.machine(),
        "seconds_per_measurement": args.seconds,
        "rows": rows,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwritten {out}")
    return report


if __name__ == "__main__":
    main()
