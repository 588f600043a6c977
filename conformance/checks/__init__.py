"""Check tables; importing this package registers every check in conformance.registry."""

from conformance.checks import fido2, headers, keys, management, properties, protocol  # noqa: F401
