from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from scenarios.client import DfnsApi, delegated_login, register_delegated
from tests.core.helpers import make_device


@dataclass
class Enrolled:
    username: str
    user_id: str
    device: Any
    api: DfnsApi  # the user's delegated-login token, signing with ``device``


@pytest.fixture
def enroll(sa: DfnsApi) -> Callable[..., Enrolled]:
    counter = iter(range(1_000_000))

    def _enroll(kind: str, *, recovery: Any = None) -> Enrolled:
        username = f"user{next(counter)}-{kind.lower()}@example.com"
        device = make_device(kind, username)
        result = register_delegated(sa, username, device, recovery=recovery)
        token = delegated_login(sa, username)
        return Enrolled(username, result["user"]["id"], device, sa.as_(token, device))

    return _enroll
