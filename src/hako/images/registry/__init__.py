"""The registry side of image distribution, one concept a module:

    hosts       where a registry domain is reached: mirrors, TLS, insecure registries
    auth        credentials (X-Registry-Auth) and WWW-Authenticate challenges, pure parsing
    authorizer  the Authorization header of one endpoint: Basic, or Bearer tokens per scope
    errors      registry error replies as hako.errdefs errors, worded like dockerd's
    transport   the /v2/ ping, authorized requests, retries, mirror fallback
    client      RegistryClient: manifests, blobs, uploads, mounts, tags, login
"""

from .auth import Challenge, Credentials, decode_registry_auth, parse_challenges
from .client import MANIFEST_TYPES, Descriptor, RegistryClient
from .hosts import Endpoint, RegistryConfig, endpoints

__all__ = ["Challenge", "Credentials", "Descriptor", "Endpoint", "MANIFEST_TYPES", "RegistryClient",
           "RegistryConfig", "decode_registry_auth", "endpoints", "parse_challenges"]
