"""Check tables; importing this package registers every check in conformance.registry."""

from conformance.checks import (  # noqa: F401
    applications,
    fido2,
    headers,
    keys,
    management,
    properties,
    protocol,
)
