"""Networks the simulator can create wallets on: key scheme/curve and address format."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from simulator.errors import ApiError
from simulator.wallets import chains
from simulator.wallets.chains import decompress
from simulator.wallets.models import ECDSA, ED25519, EDDSA, SECP256K1

EVM_NETWORKS = (
    "Ethereum", "EthereumSepolia", "EthereumHoodi", "EthereumClassic", "EthereumClassicMordor",
    "ArbitrumOne", "ArbitrumSepolia", "AvalancheC", "AvalancheCFuji", "Base", "BaseSepolia",
    "Berachain", "BerachainBepolia", "Bsc", "BscTestnet", "Celo", "CeloSepolia", "FlareC",
    "FlareCCoston2", "Ink", "InkSepolia", "Monad", "MonadTestnet", "Optimism", "OptimismSepolia",
    "Plume", "PlumeSepolia", "Polygon", "PolygonAmoy", "Sonic", "SonicTestnet", "XLayer",
    "XLayerSepolia",
)
BITCOIN_HRP = {"Bitcoin": "bc", "BitcoinSignet": "tb", "BitcoinTestnet4": "tb",
               "Litecoin": "ltc", "LitecoinTestnet": "tltc"}
SOLANA_NETWORKS = ("Solana", "SolanaDevnet")
PSEUDO_NETWORKS = {"KeyECDSA": (ECDSA, SECP256K1), "KeyEdDSA": (EDDSA, ED25519)}
UNSUPPORTED_CURVES = {"KeyECDSAStark": "stark", "Starknet": "stark", "StarknetSepolia": "stark"}


@dataclass(frozen=True)
class NetworkInfo:
    name: str
    scheme: str
    curve: str
    family: str  # evm | bitcoin | solana | pseudo
    address: Callable[[bytes], str] | None  # public key bytes -> address

    @property
    def message_kind(self) -> str | None:
        """How a ``Message`` signature is made here: EIP-191 for EVM, raw bytes for EdDSA."""
        if self.family == "evm":
            return "eip191"
        if self.scheme == EDDSA:
            return "raw"
        return None


def _evm(public_key: bytes) -> str:
    x, y = decompress(public_key)
    return chains.evm_address(x.to_bytes(32, "big") + y.to_bytes(32, "big"))


def network_info(name: str) -> NetworkInfo:
    if name in EVM_NETWORKS:
        return NetworkInfo(name, ECDSA, SECP256K1, "evm", _evm)
    if name in BITCOIN_HRP:
        hrp = BITCOIN_HRP[name]
        return NetworkInfo(name, ECDSA, SECP256K1, "bitcoin",
                           lambda pk: chains.segwit_v0_address(hrp, chains.hash160(pk)))
    if name in SOLANA_NETWORKS:
        return NetworkInfo(name, EDDSA, ED25519, "solana", chains.base58)
    if name in PSEUDO_NETWORKS:
        scheme, curve = PSEUDO_NETWORKS[name]
        return NetworkInfo(name, scheme, curve, "pseudo", None)
    if name in UNSUPPORTED_CURVES:
        raise ApiError(400, f"network {name} is not supported by the simulator "
                       f"(curve {UNSUPPORTED_CURVES[name]} is not implemented)",
                       details={"field": "network"})
    raise ApiError(400, f"network {name} is not supported by the simulator",
                   details={"field": "network",
                            "supported": [*EVM_NETWORKS, *BITCOIN_HRP, *SOLANA_NETWORKS,
                                          *PSEUDO_NETWORKS]})


def scheme_for_curve(curve: str) -> str:
    if curve == SECP256K1:
        return ECDSA
    if curve == ED25519:
        return EDDSA
    raise ApiError(400, f"curve {curve} is not supported by the simulator",
                   details={"field": "curve"})
