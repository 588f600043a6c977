"""The P2 reference: a bare Starlette endpoint doing what ``POST /auth/action`` must at least do
— read the body, parse the JSON, decode the assertion, verify the P-256 signature — and nothing
else (no identity, no challenge, no store). ``python -m load.bare_server --port N --key PEM``.
"""

from __future__ import annotations

import argparse
import base64
import json

import uvicorn
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def build(public_pem: bytes) -> Starlette:
    key = serialization.load_pem_public_key(public_pem)
    assert isinstance(key, ec.EllipticCurvePublicKey)
    algorithm = ec.ECDSA(hashes.SHA256())

    async def action(request: Request) -> JSONResponse:
        body = json.loads(await request.body())
        assertion = body["firstFactor"]["credentialAssertion"]
        key.verify(_b64(assertion["signature"]), _b64(assertion["clientData"]), algorithm)
        return JSONResponse({"userAction": "ok"})

    async def ping(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    return Starlette(routes=[Route("/auth/action", action, methods=["POST"]),
                             Route("/ping", ping, methods=["GET"])])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--key", required=True, help="file holding the P-256 public key PEM")
    args = parser.parse_args()
    with open(args.key, "rb") as handle:
        app = build(handle.read())
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False,
                lifespan="off")


if __name__ == "__main__":
    main()
