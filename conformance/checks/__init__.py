"""Check tables; importing this package registers every check in conformance.registry."""

from conformance.checks import fido2, keys, protocol, management, headers, properties  # noqa: F401
