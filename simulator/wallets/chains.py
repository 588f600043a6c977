"""Chain formatting helpers: hashes, addresses and the secp256k1 arithmetic signatures need.

Everything here is a pure function over bytes, usable by the simulator and by clients (tests
format chain-specific payloads with it, then ask the API for a ``Hash`` signature, as a
customer would for a chain Dfns does not integrate).

Keccak-256 (Ethereum's pre-standard SHA-3; ``hashlib.sha3_256`` is *not* it) and RIPEMD-160
(absent from OpenSSL 3 default builds) come from pycryptodome.
"""

from __future__ import annotations

import hashlib

from Crypto.Hash import RIPEMD160, keccak

# -- secp256k1 domain parameters (SEC 2) -------------------------------------------------
P = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
G = (0x79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798,
     0x483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B8)

Point = tuple[int, int] | None


def keccak256(data: bytes) -> bytes:
    return keccak.new(digest_bits=256, data=data).digest()


def hash160(data: bytes) -> bytes:
    return RIPEMD160.new(hashlib.sha256(data).digest()).digest()


def eip191_hash(message: bytes) -> bytes:
    """The ``personal_sign`` digest: keccak256("\\x19Ethereum Signed Message:\\n" + len + msg)."""
    return keccak256(b"\x19Ethereum Signed Message:\n" + str(len(message)).encode() + message)


# -- addresses ----------------------------------------------------------------------------
def evm_address(uncompressed_public_key: bytes) -> str:
    """Last 20 bytes of keccak256 over the 64-byte X||Y (the 0x04 prefix dropped), lowercase."""
    if len(uncompressed_public_key) == 65:
        uncompressed_public_key = uncompressed_public_key[1:]
    return "0x" + keccak256(uncompressed_public_key)[-20:].hex()


def eip55(address: str) -> str:
    """Mixed-case checksum encoding of an EVM address."""
    lower = address.lower().removeprefix("0x")
    digest = keccak256(lower.encode()).hex()
    return "0x" + "".join(c.upper() if c.isalpha() and int(digest[i], 16) >= 8 else c
                          for i, c in enumerate(lower))


_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def base58(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    out = ""
    while number:
        number, rem = divmod(number, 58)
        out = _B58[rem] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _bech32_polymod(values: list[int]) -> int:
    generator = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    chk = 1
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            chk ^= generator[i] if (top >> i) & 1 else 0
    return chk


def _convert_bits(data: bytes, from_bits: int, to_bits: int) -> list[int]:
    acc = bits = 0
    out: list[int] = []
    for value in data:
        acc = (acc << from_bits) | value
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            out.append((acc >> bits) & ((1 << to_bits) - 1))
    if bits:
        out.append((acc << (to_bits - bits)) & ((1 << to_bits) - 1))
    return out


def segwit_v0_address(hrp: str, program: bytes) -> str:
    """BIP-173 bech32 address of a version-0 witness program (P2WPKH for 20 bytes)."""
    data = [0, *_convert_bits(program, 8, 5)]
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    polymod = _bech32_polymod(expanded + data + [0] * 6) ^ 1
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_BECH32[d] for d in data + checksum)


# -- secp256k1 arithmetic (only what recovery ids need; signing itself uses cryptography) ---
def _jacobian_double(p: tuple[int, int, int]) -> tuple[int, int, int]:
    x, y, z = p
    if not y:
        return (0, 0, 0)
    ysq = y * y % P
    s = 4 * x * ysq % P
    m = 3 * x * x % P
    nx = (m * m - 2 * s) % P
    ny = (m * (s - nx) - 8 * ysq * ysq) % P
    return (nx, ny, 2 * y * z % P)


def _jacobian_add(p: tuple[int, int, int], q: tuple[int, int, int]) -> tuple[int, int, int]:
    if not p[1]:
        return q
    if not q[1]:
        return p
    u1 = p[0] * q[2] ** 2 % P
    u2 = q[0] * p[2] ** 2 % P
    s1 = p[1] * q[2] ** 3 % P
    s2 = q[1] * p[2] ** 3 % P
    if u1 == u2:
        return _jacobian_double(p) if s1 == s2 else (0, 0, 1)
    h, r = u2 - u1, s2 - s1
    h2 = h * h % P
    h3 = h * h2 % P
    u1h2 = u1 * h2 % P
    nx = (r * r - h3 - 2 * u1h2) % P
    ny = (r * (u1h2 - nx) - s1 * h3) % P
    return (nx, ny, h * p[2] * q[2] % P)


def _to_affine(p: tuple[int, int, int]) -> Point:
    if not p[1]:
        return None
    zinv = pow(p[2], -1, P)
    return (p[0] * zinv ** 2 % P, p[1] * zinv ** 3 % P)


def double_scalar_mult(a: int, point_a: tuple[int, int], b: int, point_b: tuple[int, int]) -> Point:
    """a·A + b·B (Shamir's trick)."""
    ja, jb = (*point_a, 1), (*point_b, 1)
    both = _jacobian_add(ja, jb)
    acc = (0, 0, 1)
    for i in range(max(a.bit_length(), b.bit_length()) - 1, -1, -1):
        acc = _jacobian_double(acc)
        bit_a, bit_b = (a >> i) & 1, (b >> i) & 1
        if bit_a and bit_b:
            acc = _jacobian_add(acc, both)
        elif bit_a:
            acc = _jacobian_add(acc, ja)
        elif bit_b:
            acc = _jacobian_add(acc, jb)
    return _to_affine(acc)


def decompress(public_key: bytes) -> tuple[int, int]:
    if len(public_key) == 65:
        return int.from_bytes(public_key[1:33], "big"), int.from_bytes(public_key[33:], "big")
    x = int.from_bytes(public_key[1:], "big")
    y = pow((x ** 3 + 7) % P, (P + 1) // 4, P)
    if y & 1 != public_key[0] & 1:
        y = P - y
    return x, y


def recovery_id(digest: bytes, r: int, s: int, public_key: bytes) -> int:
    """The ``recid`` (0/1, +2 when R.x overflowed n) of a verified ECDSA signature.

    R = s⁻¹·(e·G + r·Q) is the nonce point; its y parity is what lets a verifier (ecrecover)
    rebuild Q from (r, s).
    """
    e = int.from_bytes(digest, "big") % N
    s_inv = pow(s, -1, N)
    point = double_scalar_mult(e * s_inv % N, G, r * s_inv % N, decompress(public_key))
    assert point is not None
    return (point[1] & 1) | (2 if point[0] >= N else 0)


def recover_public_key(digest: bytes, r: int, s: int, recid: int) -> tuple[int, int]:
    """ecrecover: Q = r⁻¹·(s·R − e·G). Used by tests to check ``recid`` independently."""
    x = r + (N if recid & 2 else 0)
    y = pow((x ** 3 + 7) % P, (P + 1) // 4, P)
    if y & 1 != recid & 1:
        y = P - y
    e = int.from_bytes(digest, "big") % N
    r_inv = pow(r, -1, N)
    point = double_scalar_mult(s * r_inv % N, (x, y), (-e * r_inv) % N, G)
    assert point is not None
    return point
