"""The simulated signer network: key shares, a threshold, signers that go down and up.

**This simulates the behaviour of an MPC signer network; it is not an MPC protocol.** Each
new key's secret is split with Shamir's secret sharing into one share per signer (default 3 of
5). To sign, the "network" collects the shares of the signers currently up, and if at least
``threshold`` answer it reconstructs the secret *inside this module*, signs with
``cryptography``, and drops it. A real network (CGGMP, FROST) never reconstructs the key; what
the simulation reproduces faithfully is what an integration can observe: a signature needs a
quorum of reachable signers, fewer than the threshold yields a 503, and nothing is lost —
once signers come back, the same request succeeds.

Field choice: secp256k1 secrets are scalars, shared over the curve order ``n``. Ed25519 keys
are 32-byte seeds (the signing scalar is derived from the seed by hashing, so the scalar alone
cannot drive ``cryptography``'s signer); seeds are shared over the Mersenne prime 2^521 − 1,
which exceeds every 256-bit seed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from simulator.errors import ApiError
from simulator.models import evolve
from simulator.services.core import Core
from simulator.wallets.chains import N as SECP256K1_ORDER
from simulator.wallets.models import SECP256K1, KeyShare, Signer

DEFAULT_SIGNERS = 5
DEFAULT_THRESHOLD = 3
SEED_PRIME = 2**521 - 1
SETTINGS_KEY = "network"
T = TypeVar("T")


def field_prime(curve: str) -> int:
    return SECP256K1_ORDER if curve == SECP256K1 else SEED_PRIME


# -- Shamir ------------------------------------------------------------------------------
def split(secret: int, *, threshold: int, count: int, prime: int,
          random_below: Callable[[int], int]) -> list[tuple[int, int]]:
    """Shares (x, f(x)) for x = 1..count of a random polynomial of degree threshold−1,
    f(0)=secret."""
    coefficients = [secret % prime] + [random_below(prime) for _ in range(threshold - 1)]
    shares = []
    for x in range(1, count + 1):
        y = 0
        for coefficient in reversed(coefficients):
            y = (y * x + coefficient) % prime
        shares.append((x, y))
    return shares


def reconstruct(shares: Iterable[tuple[int, int]], prime: int) -> int:
    """Lagrange interpolation at x = 0."""
    points = list(shares)
    secret = 0
    for i, (xi, yi) in enumerate(points):
        numerator = denominator = 1
        for j, (xj, _) in enumerate(points):
            if i != j:
                numerator = numerator * -xj % prime
                denominator = denominator * (xi - xj) % prime
        secret = (secret + yi * numerator * pow(denominator, -1, prime)) % prime
    return secret


# -- the network ---------------------------------------------------------------------------
def _settings(core: Core) -> dict[str, int]:
    settings = core.store.get("signer_network", SETTINGS_KEY)
    if settings is None:
        settings = {"signers": DEFAULT_SIGNERS, "threshold": DEFAULT_THRESHOLD}
        core.store.put("signer_network", SETTINGS_KEY, settings)
    return settings


def signers(core: Core) -> list[Signer]:
    """The signer nodes, created on first use."""
    count = _settings(core)["signers"]
    out = []
    for index in range(1, count + 1):
        signer = core.store.get("signers", str(index))
        if signer is None:
            signer = Signer(index=index, id=core.new_id("si"))
            core.store.put("signers", str(index), signer)
        out.append(signer)
    return out


def threshold(core: Core) -> int:
    return _settings(core)["threshold"]


def configure(core: Core, *, count: int, required: int) -> None:
    """Change the network shape (only before any key exists: shares are fixed at creation)."""
    if not 1 <= required <= count <= 50:
        raise ApiError(400, "invalid signer network: need 1 <= threshold <= signers <= 50")
    if next(core.store.scan("key_shares"), None) is not None:
        raise ApiError(409, "the signer network cannot be reshaped once keys exist")
    core.store.put("signer_network", SETTINGS_KEY, {"signers": count, "threshold": required})
    for signer in list(core.store.scan("signers")):
        core.store.delete("signers", str(signer.index))
    signers(core)


def set_signer_available(core: Core, signer_index: int, up: bool) -> dict[str, Any]:
    """Take a signer down (``up=False``) or bring it back; returns :func:`signer_status`."""
    current = {s.index: s for s in signers(core)}
    if signer_index not in current:
        raise ApiError(404, "signer not found", details={"signerIndex": signer_index,
                                                         "signers": sorted(current)})
    core.store.put("signers", str(signer_index), evolve(current[signer_index], available=bool(up)))
    return signer_status(core)


def signer_status(core: Core) -> dict[str, Any]:
    nodes = signers(core)
    up = sum(1 for s in nodes if s.available)
    return {
        "threshold": threshold(core),
        "total": len(nodes),
        "available": up,
        "canSign": up >= threshold(core),
        "signers": [{"index": s.index, "id": s.id, "available": s.available} for s in nodes],
    }


def _require_quorum(core: Core) -> list[Signer]:
    reachable = [s for s in signers(core) if s.available]
    required = threshold(core)
    if len(reachable) < required:
        total = len(signers(core))
        raise ApiError(
            503,
            f"signer network unavailable: {len(reachable)} of {total} signers reachable, "
            f"{required} required; retry later",
            details={"availableSigners": len(reachable), "requiredSigners": required,
                     "totalSigners": total},
            code="SignersUnavailable", headers={"Retry-After": "1"},
        )
    return reachable


def store_secret(core: Core, tx: Any, key_id: str, curve: str, secret: int) -> None:
    """Key generation: split ``secret`` across the signers (all must be up... a quorum at least)."""
    _require_quorum(core)
    nodes = signers(core)
    prime = field_prime(curve)
    def random_below(bound: int) -> int:
        return int.from_bytes(core.random.token_bytes(80), "big") % bound

    for x, y in split(secret, threshold=threshold(core), count=len(nodes), prime=prime,
                      random_below=random_below):
        tx.put("key_shares", f"{key_id}/{x}", KeyShare(key_id=key_id, signer_index=x, value=y))


def with_secret(core: Core, key_id: str, curve: str, use: Callable[[int], T]) -> T:
    """Run ``use(secret)`` with the key reconstructed from a quorum of reachable signers."""
    reachable = _require_quorum(core)
    shares = []
    for signer in reachable:
        share: KeyShare | None = core.store.get("key_shares", f"{key_id}/{signer.index}")
        if share is not None:
            shares.append((share.signer_index, share.value))
        if len(shares) == threshold(core):
            break
    if len(shares) < threshold(core):
        raise ApiError(503,
                       "signer network unavailable: not enough key shares reachable; retry later",
                       code="SignersUnavailable", headers={"Retry-After": "1"})
    return use(reconstruct(shares, field_prime(curve)))


def shares_of(core: Core, key_id: str) -> list[KeyShare]:
    return [s for s in (core.store.get("key_shares", f"{key_id}/{n.index}") for n in signers(core))
            if s is not None]
