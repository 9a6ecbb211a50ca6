"""The registry client's pure parts: WWW-Authenticate challenges, X-Registry-Auth, registry error
replies, endpoints and Docker's insecure-registry rules."""

from __future__ import annotations

import base64
import json
import ssl

import pytest

from hako import errdefs
from hako.images.registry import Challenge, Credentials, RegistryConfig, decode_registry_auth, endpoints, \
    parse_challenges
from hako.images.registry.errors import registry_error
from hako.images.registry.hosts import Endpoint, is_insecure, tls_context
from hako.images.registry.transport import merge_scopes


# ---- WWW-Authenticate ---------------------------------------------------------------------------

def test_bearer_challenge_of_distribution():
    header = ('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
              'scope="repository:library/busybox:pull"')
    assert parse_challenges(header) == [Challenge("bearer", {
        "realm": "https://auth.docker.io/token", "service": "registry.docker.io",
        "scope": "repository:library/busybox:pull"})]


def test_commas_inside_quotes_stay_in_the_value():
    header = 'Bearer realm="http://t/token",scope="repository:a:pull,push",error="insufficient_scope"'
    [challenge] = parse_challenges(header)
    assert challenge.params["scope"] == "repository:a:pull,push"
    assert challenge.params["error"] == "insufficient_scope"


def test_basic_challenge_and_case_of_scheme_and_keys():
    assert parse_challenges('BASIC Realm="hako test"') == [Challenge("basic", {"realm": "hako test"})]


def test_several_challenges_in_one_header():
    header = 'Basic realm="r1", Bearer realm="http://t/token", service="s"'
    assert parse_challenges(header) == [Challenge("basic", {"realm": "r1"}),
                                        Challenge("bearer", {"realm": "http://t/token", "service": "s"})]


def test_unquoted_values_spaces_and_escapes():
    header = 'Bearer  realm = http://t/token , service="say \\"hi\\""'
    assert parse_challenges(header) == [Challenge("bearer", {"realm": "http://t/token", "service": 'say "hi"'})]


def test_scheme_alone_and_empty_header():
    assert parse_challenges("Basic") == [Challenge("basic", {})]
    assert parse_challenges("") == []
    assert parse_challenges(None) == []


# ---- X-Registry-Auth ----------------------------------------------------------------------------

def _encode(config: dict, encoder=base64.urlsafe_b64encode, strip: bool = False) -> str:
    text = encoder(json.dumps(config).encode()).decode()
    return text.rstrip("=") if strip else text


def test_registry_auth_as_the_docker_cli_sends_it():
    header = _encode({"username": "alice", "password": "p?w>d", "serveraddress": "127.0.0.1:5000"})
    assert decode_registry_auth(header) == Credentials(username="alice", password="p?w>d",
                                                       server_address="127.0.0.1:5000")


@pytest.mark.parametrize("encoder", [base64.urlsafe_b64encode, base64.standard_b64encode])
@pytest.mark.parametrize("strip", [False, True])
def test_registry_auth_with_or_without_padding_url_or_standard(encoder, strip):
    # "???" in the password makes the base64 alphabets differ ("/" vs "_").
    header = _encode({"username": "u", "password": "???>>>"}, encoder, strip)
    assert decode_registry_auth(header) == Credentials(username="u", password="???>>>")


def test_registry_auth_tokens():
    header = _encode({"identitytoken": "refresh-me", "registrytoken": "bearer-me"})
    assert decode_registry_auth(header) == Credentials(identity_token="refresh-me", registry_token="bearer-me")


def test_registry_auth_older_auth_field():
    header = _encode({"auth": base64.b64encode(b"bob:s:cret").decode()})
    assert decode_registry_auth(header) == Credentials(username="bob", password="s:cret")


@pytest.mark.parametrize("header", [None, "", "  ", "{}", _encode({}), _encode({"serveraddress": "x"})])
def test_empty_registry_auth_is_none(header):
    assert decode_registry_auth(header) is None


@pytest.mark.parametrize("header", ["!!!not base64!!!", _encode([1, 2]), base64.b64encode(b"{nope").decode()])
def test_bad_registry_auth_is_invalid_argument(header):
    with pytest.raises(errdefs.InvalidArgument, match="invalid X-Registry-Auth header"):
        decode_registry_auth(header)


# ---- registry errors ----------------------------------------------------------------------------

def test_error_reply_worded_as_docker():
    body = b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}}]}'
    error = registry_error(404, body)
    assert isinstance(error, errdefs.NotFound)
    assert str(error) == "manifest unknown: manifest unknown"
    assert error.codes == ("MANIFEST_UNKNOWN",)


def test_unauthorized_without_body_and_unknown_status():
    assert str(registry_error(401, b"")) == "unauthorized: authentication required"
    assert isinstance(registry_error(401, b""), errdefs.Unauthorized)
    error = registry_error(500, b"<html>oops</html>")
    assert isinstance(error, errdefs.SystemError)
    assert str(error) == "received unexpected HTTP status: 500 Internal Server Error"
    assert isinstance(registry_error(503, b""), errdefs.Unavailable)
    assert isinstance(registry_error(403, b""), errdefs.Forbidden)


def test_several_errors_listed():
    body = json.dumps({"errors": [{"code": "DENIED", "message": "no"}, {"code": "UNAUTHORIZED", "message": "who"}]})
    assert str(registry_error(403, body.encode())) == "errors:\ndenied: no\nunauthorized: who\n"


# ---- endpoints ----------------------------------------------------------------------------------

def test_docker_hub_uses_mirrors_first():
    config = RegistryConfig(mirrors=["https://mirror.example/", "http://plain.example:5000"])
    assert endpoints("docker.io", config) == [
        Endpoint("https://mirror.example", mirror=True),
        Endpoint("http://plain.example:5000", mirror=True, insecure=True),
        Endpoint("https://registry-1.docker.io"),
    ]


def test_mirrors_are_for_docker_hub_only():
    config = RegistryConfig(mirrors=["https://mirror.example"])
    assert endpoints("quay.io", config) == [Endpoint("https://quay.io")]


@pytest.mark.parametrize("host", ["localhost", "localhost:5000", "127.0.0.1:5000", "127.8.9.10", "[::1]:5000"])
def test_loopback_is_insecure_by_default(host):
    assert is_insecure(host, RegistryConfig())
    assert endpoints(host, RegistryConfig()) == [Endpoint(f"https://{host}", insecure=True)]


@pytest.mark.parametrize("entry,host,expected", [
    ("registry.example:5000", "registry.example:5000", True),
    ("registry.example:5000", "registry.example:5001", False),
    ("registry.example", "registry.example:5000", True),
    ("10.0.0.0/8", "10.1.2.3:5000", True),
    ("10.0.0.0/8", "192.168.1.1:5000", False),
    ("http://registry.example:5000", "registry.example:5000", True),
])
def test_insecure_registries_setting(entry, host, expected):
    assert is_insecure(host, RegistryConfig(insecure_registries=[entry])) is expected


def test_other_hosts_are_secure():
    assert not is_insecure("registry.example:5000", RegistryConfig())
    assert not is_insecure("192.168.1.1", RegistryConfig())


# ---- scopes -------------------------------------------------------------------------------------

def test_scopes_merge_per_resource_in_a_stable_order():
    scopes = ("repository:a:pull,push", "repository:a:push,pull", "repository:b/c:pull", "repository:a:delete",
              "registry:catalog:*")
    assert merge_scopes(scopes) == ("repository:a:pull,push,delete", "repository:b/c:pull", "registry:catalog:*")


# ---- TLS ----------------------------------------------------------------------------------------

def test_tls_context_from_certs_dir(tmp_path):
    from tests.registry_servers import self_signed
    cert, key = self_signed("registry.example")
    folder = tmp_path / "registry.example:5000"
    folder.mkdir()
    (folder / "ca.crt").write_bytes(cert)
    (folder / "client.cert").write_bytes(cert)
    (folder / "client.key").write_bytes(key)
    config = RegistryConfig(certs_dir=str(tmp_path))
    context = tls_context(Endpoint("https://registry.example:5000"), config)
    assert isinstance(context, ssl.SSLContext)
    assert any(ca["subject"] == ((("commonName", "registry.example"),),) for ca in context.get_ca_certs())
    assert tls_context(Endpoint("https://other.example"), config) is None      # system defaults
    assert tls_context(Endpoint("https://registry.example:5000", insecure=True), config) is False
