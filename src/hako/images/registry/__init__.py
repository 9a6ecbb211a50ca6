"""The registry side of image distribution: where a registry is (hosts), who we are (auth,
authorizer), what it says when it refuses (errors), and the ``/v2/`` client itself (client)."""

from .auth import Challenge, Credentials, decode_registry_auth, parse_challenges
from .client import MANIFEST_TYPES, Descriptor, RegistryClient
from .hosts import Endpoint, RegistryConfig, endpoints

__all__ = ["Challenge", "Credentials", "Descriptor", "Endpoint", "MANIFEST_TYPES", "RegistryClient",
           "RegistryConfig", "decode_registry_auth", "endpoints", "parse_challenges"]
