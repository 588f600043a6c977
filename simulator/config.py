"""Simulator settings. Defaults follow challenges.md §6 (lifetimes) and the bootstrap contract."""

from __future__ import annotations

from dataclasses import dataclass, field

from simulator.verification.policy import VerificationPolicy

MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0
API_MAX_TOKEN_DAYS = 730  # daysValid's bound in the API (service accounts, PATs, apps)


@dataclass(frozen=True, kw_only=True)
class Lifetimes:
    registration_code: float = 4 * HOUR
    login_code: float = 10 * MINUTE
    recovery_code: float = 10 * MINUTE
    registration_challenge: float = 1 * HOUR
    recovery_challenge: float = 1 * HOUR
    login_challenge: float = 5 * MINUTE
    action_challenge: float = 5 * MINUTE
    credential_challenge: float = 5 * MINUTE
    user_action_token: float = 5 * MINUTE
    login_token: float = 1 * HOUR
    credential_code_max: float = 1 * MINUTE
    access_token_days_default: int = 730
    # daysValid / secondsValid above this answer 400. It can only lower the API's own bound
    # (730 days), which the request schemas enforce first.
    access_token_days_max: int = API_MAX_TOKEN_DAYS

    def __post_init__(self) -> None:
        if not 1 <= self.access_token_days_max <= API_MAX_TOKEN_DAYS:
            raise ValueError(f"access_token_days_max must be between 1 and {API_MAX_TOKEN_DAYS} "
                             f"(the API's own bound), not {self.access_token_days_max}")
        if not 1 <= self.access_token_days_default <= self.access_token_days_max:
            raise ValueError(f"access_token_days_default must be between 1 and "
                             f"access_token_days_max ({self.access_token_days_max}), not "
                             f"{self.access_token_days_default}")


@dataclass(frozen=True, kw_only=True)
class SimulatorConfig:
    rp_id: str = "localhost"
    origin: str = "http://localhost:3000"
    rp_name: str = "dfns-sim"
    org_name: str = "Default Org"
    app_name: str = "Default Application"
    issuer: str = "auth.dfns.io"
    seed: int | None = None
    lifetimes: Lifetimes = field(default_factory=Lifetimes)
    policy: VerificationPolicy = field(default_factory=VerificationPolicy)
    # The docs era required X-DFNS-NONCE; current SDKs never send it (spec README row 2).
    require_nonce: bool = False
    nonce_tolerance: float = 5 * MINUTE
    max_body_bytes: int = 1_000_000
    # Objects and arrays nested deeper than this answer 400 (see http/app.py: the code that
    # walks bodies recurses). Real payloads, EIP-712 messages included, nest a handful deep.
    max_json_depth: int = 64
    # Challenges, user-action records and one-time codes are dropped this long after they
    # expired (on the simulated and the wall clock), so long load runs grow slower; None keeps
    # them all.
    # Expired records answer exactly like missing ones (services/housekeeping.py).
    expired_retention: float | None = 15 * MINUTE
    # The audit log keeps this many newest entries per org (None: all). A soak run adds one
    # per signed request (~2.6 KB each); the chain stays verifiable from the oldest kept entry
    # (services/audit.py).
    audit_max_entries: int | None = 100_000
