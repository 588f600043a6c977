"""Who may use /_sim/: on by default, bearer-token protected, or off; CLI defaults by host."""

from __future__ import annotations

import pytest

from simulator import Simulator
from simulator.cli import admin_settings, build_parser, is_loopback
from tests.admin.helpers import error_of


def test_admin_token_required_when_configured() -> None:
    sim = Simulator(admin_token="s3cret")
    with sim.client() as client:
        assert client.get("/_sim/health").status_code == 200  # readiness stays public
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic s3cret"}):
            response = client.get("/_sim/clock", headers=headers)
            assert error_of(response, 401) == "admin token missing or invalid"
            assert response.headers["www-authenticate"].startswith("Bearer")
        assert client.get("/_sim/clock",
                          headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_a_non_ascii_admin_token_works_when_sent_as_utf8() -> None:
    sim = Simulator(admin_token="sécret")
    with sim.client() as client:
        utf8 = [(b"authorization", "Bearer sécret".encode())]
        latin1 = [(b"authorization", "Bearer sécret".encode("latin-1"))]
        assert client.get("/_sim/clock", headers=utf8).status_code == 200
        assert error_of(client.get("/_sim/clock", headers=latin1), 401) == \
            "admin token missing or invalid"


def test_admin_disabled_answers_404_except_health() -> None:
    sim = Simulator(admin=False)
    with sim.client() as client:
        assert client.get("/_sim/health").status_code == 200
        for method, path in (("GET", "/_sim/clock"), ("POST", "/_sim/reset"),
                             ("GET", "/_sim/journal")):
            assert error_of(client.request(method, path), 404) == "route not found"
        assert client.get("/auth/users").status_code == 401  # the Dfns API is unaffected


def test_admin_token_never_reaches_the_dfns_api() -> None:
    sim = Simulator(admin_token="s3cret")
    with sim.client() as client:
        response = client.get("/auth/users", headers={"Authorization": "Bearer s3cret"})
    assert response.status_code == 401


@pytest.mark.parametrize(("argv", "expected"), [
    ([], {"admin": True, "admin_token": None}),
    (["--host", "localhost"], {"admin": True, "admin_token": None}),
    (["--host", "::1"], {"admin": True, "admin_token": None}),
    (["--host", "0.0.0.0"], {"admin": False, "admin_token": None}),
    (["--host", "0.0.0.0", "--admin-token", "t"], {"admin": True, "admin_token": "t"}),
    (["--admin-token", "t"], {"admin": True, "admin_token": "t"}),
    (["--no-admin"], {"admin": False, "admin_token": None}),
])
def test_cli_admin_defaults(argv: list[str], expected: dict, monkeypatch: pytest.MonkeyPatch,
                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("DFNS_SIM_ADMIN_TOKEN", raising=False)
    args = build_parser().parse_args(["serve", *argv])
    settings = admin_settings(args)
    assert {k: settings[k] for k in expected} == expected
    warned = "admin API (/_sim/) disabled" in capsys.readouterr().err
    assert warned == (argv == ["--host", "0.0.0.0"])


def test_cli_seed_and_journal_flags() -> None:
    args = build_parser().parse_args(["serve", "--seed", "7", "--journal-size", "20"])
    assert args.seed == 7 and admin_settings(args)["journal_size"] == 20


def test_is_loopback() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("127.1.2.3") and is_loopback("[::1]")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.com")
