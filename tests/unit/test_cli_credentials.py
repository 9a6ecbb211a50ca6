"""Registry credentials (hako.cli.credentials) and the commands that use them, against a scripted
daemon: config.json kept docker's way, credential helpers over their stdin/stdout protocol, the
X-Registry-Auth header of pull and push, login and logout."""

from __future__ import annotations

import base64
import json
import os
import stat

import pytest

from hako.cli.credentials import (INDEX_SERVER, ConfigFile, Credentials, CredentialsError, HelperProgram,
                                  auth_key, config_dir, convert_to_hostname, decode_auth, encode_auth,
                                  registry_auth_header)
from tests.unit.test_cli_e2e import Reply, Run, daemon_factory  # noqa: F401 - the fixture

# A credential helper as docker-credential-helpers specifies them, backed by one JSON file per
# server in $CREDSTORE; every call is logged with what it read.
HELPER = r"""#!/bin/sh
dir="$CREDSTORE"
input=$(cat)
echo "$1 $input" >> "$dir/calls.log"
case "$1" in
store) url=$(printf '%s' "$input" | sed 's/.*"ServerURL":"\([^"]*\)".*/\1/')
       printf '%s' "$input" > "$dir/$(printf '%s' "$url" | tr '/:' '__').json";;
get) f="$dir/$(printf '%s' "$input" | tr '/:' '__').json"
     if [ -f "$f" ]; then cat "$f"; else echo "credentials not found in native keychain"; exit 1; fi;;
erase) f="$dir/$(printf '%s' "$input" | tr '/:' '__').json"
       if [ -f "$f" ]; then rm "$f"; else echo "credentials not found in native keychain"; exit 1; fi;;
list) echo '{}';;
*) echo "unknown action"; exit 1;;
esac
"""


@pytest.fixture
def helper_env(tmp_path):
    """An environment whose PATH holds docker-credential-test, and its store directory."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    script = bindir / "docker-credential-test"
    script.write_text(HELPER)
    script.chmod(0o755)
    store = tmp_path / "store"
    store.mkdir()
    env = {"PATH": f"{bindir}:/usr/bin:/bin", "CREDSTORE": str(store),
           "DOCKER_CONFIG": str(tmp_path / "cfg")}
    return env, store


def decode_header(value: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(value))


# -- keys, encodings ------------------------------------------------------------------------------

def test_keys_and_hostnames():
    assert auth_key("docker.io") == INDEX_SERVER == "https://index.docker.io/v1/"
    assert auth_key("index.docker.io") == INDEX_SERVER
    assert auth_key("127.0.0.1:5000") == "127.0.0.1:5000"
    assert convert_to_hostname("https://127.0.0.1:5000/v2/") == "127.0.0.1:5000"
    assert convert_to_hostname("http://reg.example") == "reg.example"
    assert convert_to_hostname("reg.example:443") == "reg.example:443"
    assert config_dir({"DOCKER_CONFIG": "/x"}) == "/x"
    assert config_dir({"HOME": "/home/u"}) == "/home/u/.docker"


def test_registry_auth_header_is_base64url_json_in_dockers_field_order():
    assert registry_auth_header(None) == "e30="
    assert registry_auth_header(Credentials(server_address="r:5000")) == "e30="  # nothing stored
    value = registry_auth_header(Credentials("tracer", "p?>~", "127.0.0.1:5000"))
    assert "+" not in value and "/" not in value
    raw = base64.urlsafe_b64decode(value).decode()
    assert raw == '{"username":"tracer","password":"p?>~","serveraddress":"127.0.0.1:5000"}'
    token = registry_auth_header(Credentials("u", "", "r", identity_token="tok"))
    assert decode_header(token) == {"username": "u", "serveraddress": "r", "identitytoken": "tok"}


def test_auth_field_round_trip_and_errors():
    assert encode_auth("tracer", "pw:with:colons") == base64.b64encode(b"tracer:pw:with:colons").decode()
    assert decode_auth(encode_auth("tracer", "pw:with:colons")) == ("tracer", "pw:with:colons")
    assert encode_auth("", "") == "" and decode_auth("") == ("", "")
    with pytest.raises(ValueError, match="illegal base64 data at input byte 0"):
        decode_auth("!!!")
    with pytest.raises(ValueError, match="invalid auth configuration file"):
        decode_auth(base64.b64encode(b"no-colon").decode())


# -- config.json ------------------------------------------------------------------------------------

def test_store_keeps_every_other_key_and_writes_dockers_layout(tmp_path):
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    original = {"psFormat": "table {{.ID}}", "auths": {"other:1": {"auth": encode_auth("o", "p"), "email": "e@x"}},
                "x-unknown": {"nested": [1, 2, {"k": "v"}]}, "proxies": {"default": {"httpProxy": "h"}}}
    (cfg / "config.json").write_text(json.dumps(original))
    (cfg / "config.json").chmod(0o640)
    config = ConfigFile.load(str(cfg))
    config.store_credentials(Credentials("tracer", "secret", "127.0.0.1:5000"))
    text = (cfg / "config.json").read_text()
    data = json.loads(text)
    assert data == {**original, "auths": {"other:1": original["auths"]["other:1"],
                                          "127.0.0.1:5000": {"auth": encode_auth("tracer", "secret")}}}
    assert list(data) == list(original)  # key order kept
    assert text.startswith('{\n\t"psFormat": "table {{.ID}}",\n\t"auths": {')  # tab-indented like docker
    assert stat.S_IMODE(os.stat(cfg / "config.json").st_mode) == 0o640  # the old mode is kept
    assert sorted(os.listdir(cfg)) == ["config.json"]  # no temporary file left behind
    again = ConfigFile.load(str(cfg))
    assert again.get_credentials("127.0.0.1:5000") == Credentials("tracer", "secret", "127.0.0.1:5000")
    assert again.get_credentials("other:1").email == "e@x"

    again.erase_credentials("127.0.0.1:5000")
    assert json.loads((cfg / "config.json").read_text()) == original


def test_new_config_is_private_and_identity_tokens_are_kept(tmp_path):
    cfg = tmp_path / "new" / "dir"
    config = ConfigFile.load(str(cfg))
    config.store_credentials(Credentials("tracer", "", "r:5000", identity_token="tok"))
    assert stat.S_IMODE(os.stat(cfg / "config.json").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(cfg).st_mode) == 0o700
    assert json.loads((cfg / "config.json").read_text()) == {
        "auths": {"r:5000": {"auth": base64.b64encode(b"tracer:").decode(), "identitytoken": "tok"}}}
    creds = ConfigFile.load(str(cfg)).get_credentials("r:5000")
    assert (creds.username, creds.password, creds.identity_token) == ("tracer", "", "tok")


def test_legacy_keys_are_found(tmp_path):
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    (cfg / "config.json").write_text(json.dumps({"auths": {"https://r.example:5000/v1/": {"auth": encode_auth("a", "b")}}}))
    creds = ConfigFile.load(str(cfg)).get_credentials("r.example:5000")
    assert (creds.username, creds.password) == ("a", "b")
    assert ConfigFile.load(str(cfg)).get_credentials("elsewhere").username == ""


def test_broken_config_warns_and_is_never_overwritten(tmp_path):
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    (cfg / "config.json").write_text("{not json")
    warnings = []
    config = ConfigFile.load(str(cfg), warn=warnings.append)
    assert warnings and warnings[0].startswith(f"WARNING: Error parsing config file ({cfg}/config.json): ")
    assert config.get_credentials("r").username == ""
    with pytest.raises(CredentialsError):
        config.store_credentials(Credentials("a", "b", "r"))
    assert (cfg / "config.json").read_text() == "{not json"

    (cfg / "config.json").write_text(json.dumps({"auths": {"r": {"auth": "!!!"}}}))
    warnings.clear()
    ConfigFile.load(str(cfg), warn=warnings.append)
    assert warnings == [f"WARNING: Error parsing config file ({cfg}/config.json): illegal base64 data at input byte 0\n"]


def test_symlinked_config_is_written_through_the_link(tmp_path):
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    real = tmp_path / "real.json"
    real.write_text("{}")
    (cfg / "config.json").symlink_to(real)
    ConfigFile.load(str(cfg)).store_credentials(Credentials("a", "b", "r"))
    assert (cfg / "config.json").is_symlink()
    assert json.loads(real.read_text())["auths"]["r"]["auth"] == encode_auth("a", "b")


# -- credential helpers -----------------------------------------------------------------------------

def test_helper_store_get_erase(tmp_path, helper_env):
    env, store = helper_env
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    (cfg / "config.json").write_text(json.dumps({"credsStore": "test", "keep": True}))
    config = ConfigFile.load(str(cfg), environ=env)
    config.store_credentials(Credentials("tracer", "s3cret", "127.0.0.1:5000"))
    # the secret is in the helper, config.json only names the registry
    assert json.loads((cfg / "config.json").read_text()) == {"auths": {"127.0.0.1:5000": {}},
                                                            "credsStore": "test", "keep": True}
    assert json.loads((store / "127.0.0.1_5000.json").read_text()) == {
        "ServerURL": "127.0.0.1:5000", "Username": "tracer", "Secret": "s3cret"}
    creds = ConfigFile.load(str(cfg), environ=env).get_credentials("127.0.0.1:5000")
    assert (creds.username, creds.password) == ("tracer", "s3cret")
    # an identity token is stored under the user "<token>" and read back as a token
    config.store_credentials(Credentials("tracer", "", "tok.example", identity_token="T0K"))
    assert json.loads((store / "tok.example.json").read_text())["Username"] == "<token>"
    creds = ConfigFile.load(str(cfg), environ=env).get_credentials("tok.example")
    assert (creds.username, creds.password, creds.identity_token) == ("", "", "T0K")
    # nothing stored: empty credentials, not an error
    assert ConfigFile.load(str(cfg), environ=env).get_credentials("nothing.here").username == ""

    config.erase_credentials("127.0.0.1:5000")
    assert not (store / "127.0.0.1_5000.json").exists()
    config.erase_credentials("127.0.0.1:5000")  # "not found" from the helper is fine
    calls = [line.split(" ", 1) for line in (store / "calls.log").read_text().splitlines()]
    assert [c[0] for c in calls] == ["store", "get", "store", "get", "get", "erase", "erase"]
    assert calls[1][1] == "127.0.0.1:5000"  # get reads the bare server address


def test_cred_helpers_choose_per_registry_and_missing_helpers_fail_clearly(tmp_path, helper_env):
    env, store = helper_env
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    (cfg / "config.json").write_text(json.dumps({"credsStore": "nosuch", "credHelpers": {"r:1": "test"}}))
    config = ConfigFile.load(str(cfg), environ=env)
    assert config.helper_for("r:1") == "test" and config.helper_for("other") == "nosuch"
    config.store_credentials(Credentials("a", "b", "r:1"))
    assert (store / "r_1.json").exists()
    with pytest.raises(CredentialsError) as info:
        config.store_credentials(Credentials("a", "b", "other"))
    assert str(info.value) == ('error storing credentials - err: exec: "docker-credential-nosuch": '
                               "executable file not found in $PATH, out: ``")


def test_helper_failure_output_is_reported(tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "docker-credential-bad").write_text("#!/bin/sh\necho 'keychain locked'\nexit 3\n")
    (bindir / "docker-credential-bad").chmod(0o755)
    helper = HelperProgram("bad", {"PATH": str(bindir)})
    with pytest.raises(CredentialsError, match=r"^error getting credentials - err: exit status 3, out: `keychain locked`$"):
        helper.get("r")


# -- the commands against a scripted daemon ---------------------------------------------------------

def stream_reply(*messages):
    return Reply(200, chunks=[json.dumps(m).encode() + b"\n" for m in messages],
                 headers={"Content-Type": "application/json"})


def test_login_stores_and_pull_push_send_the_credentials(daemon_factory, tmp_path):
    def handler(req):
        if req.path == "/auth":
            return Reply(200, {"IdentityToken": "", "Status": "Login Succeeded"})
        if req.path == "/images/create":
            return stream_reply({"status": "Status: Image is up to date for 127.0.0.1:5000/a/b:v1"})
        return stream_reply({"status": "The push refers to repository [127.0.0.1:5000/a/b]"})
    d = daemon_factory(handler)
    env = {"DOCKER_CONFIG": str(tmp_path / "cfg")}
    r = Run(tmp_path, d.host, ["login", "-u", "tracer", "--password-stdin", "http://127.0.0.1:5000/v2/"],
            stdin=b"pw word\n", environ=env)
    assert (r.status, r.out) == (0, "Login Succeeded\n")
    assert r.err == (f"\nWARNING! Your credentials are stored unencrypted in '{tmp_path}/cfg/config.json'.\n"
                     "Configure a credential helper to remove this warning. See\n"
                     "https://docs.docker.com/go/credential-store/\n\n")
    assert d.requests[-1].json() == {"username": "tracer", "password": "pw word", "serveraddress": "127.0.0.1:5000"}
    assert json.loads((tmp_path / "cfg" / "config.json").read_text()) == {
        "auths": {"127.0.0.1:5000": {"auth": encode_auth("tracer", "pw word")}}}

    r = Run(tmp_path, d.host, ["pull", "127.0.0.1:5000/a/b:v1"], environ=env)
    assert r.status == 0, r.err
    assert r.out == "Status: Image is up to date for 127.0.0.1:5000/a/b:v1\n127.0.0.1:5000/a/b:v1\n"
    assert d.requests[-1].query == {"fromImage": "127.0.0.1:5000/a/b", "tag": "v1"}
    assert decode_header(d.requests[-1].headers["x-registry-auth"]) == {
        "username": "tracer", "password": "pw word", "serveraddress": "127.0.0.1:5000"}

    r = Run(tmp_path, d.host, ["push", "127.0.0.1:5000/a/b"], environ=env)
    assert r.out == "Using default tag: latest\nThe push refers to repository [127.0.0.1:5000/a/b]\n"
    assert d.requests[-1].target.split("?")[0].endswith("/images/127.0.0.1:5000/a/b/push")
    assert d.requests[-1].query == {"tag": "latest"}
    assert decode_header(d.requests[-1].headers["x-registry-auth"])["username"] == "tracer"

    # Docker Hub images look under Docker Hub's key, where nothing is stored
    r = Run(tmp_path, d.host, ["pull", "-q", "busybox"], environ=env)
    assert r.out == "docker.io/library/busybox:latest\n"
    assert d.requests[-1].headers["x-registry-auth"] == "e30="

    r = Run(tmp_path, d.host, ["logout", "127.0.0.1:5000"], environ=env)
    assert (r.status, r.out, r.err) == (0, "Removing login credentials for 127.0.0.1:5000\n", "")
    assert json.loads((tmp_path / "cfg" / "config.json").read_text()) == {"auths": {}}


def test_login_with_an_identity_token_and_a_helper(daemon_factory, tmp_path, helper_env):
    env, store = helper_env
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "config.json").write_text(json.dumps({"credHelpers": {"reg.example": "test"}}))
    d = daemon_factory(lambda req: Reply(200, {"IdentityToken": "id-tok", "Status": "Login Succeeded"})
                       if req.path == "/auth" else stream_reply({"status": "ok"}))
    r = Run(tmp_path, d.host, ["login", "-u", "u", "-p", "p", "reg.example"], environ=env)
    assert r.status == 0
    assert r.err == "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n"  # no plain-text warning
    assert json.loads((store / "reg.example.json").read_text()) == {
        "ServerURL": "reg.example", "Username": "<token>", "Secret": "id-tok"}
    assert json.loads((tmp_path / "cfg" / "config.json").read_text())["auths"] == {"reg.example": {}}
    Run(tmp_path, d.host, ["pull", "-q", "reg.example/x"], environ=env)
    assert decode_header(d.requests[-1].headers["x-registry-auth"]) == {
        "serveraddress": "reg.example", "identitytoken": "id-tok"}


def test_login_errors_make_no_call(daemon_factory, tmp_path):
    d = daemon_factory(lambda req: Reply(200, {"Status": "Login Succeeded"}))
    env = {"DOCKER_CONFIG": str(tmp_path / "cfg")}
    cases = [(["login", "-u", "a", "-p", "x", "--password-stdin"],
              "conflicting options: cannot specify both --password and --password-stdin\n"),
             (["login", "--password-stdin"], "the --password-stdin option requires --username to be set\n"),
             (["login", "r:5000"], "Error: Cannot perform an interactive login from a non TTY device\n"),
             (["login", "-p", "x", "r:5000"], "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n"
                                              "Error: Cannot perform an interactive login from a non TTY device\n")]
    for argv, err in cases:
        r = Run(tmp_path, d.host, argv, environ=env)
        assert (r.status, r.out, r.err) == (1, "", err), argv
    assert d.requests == []
    assert not (tmp_path / "cfg").exists()


def test_failed_login_stores_nothing(daemon_factory, tmp_path):
    d = daemon_factory(lambda req: Reply(401, {"message": 'Get "http://r:5000/v2/": unauthorized: authentication required'}))
    env = {"DOCKER_CONFIG": str(tmp_path / "cfg")}
    r = Run(tmp_path, d.host, ["login", "-u", "a", "--password-stdin", "r:5000"], stdin=b"bad", environ=env)
    assert r.status == 1
    assert r.err == 'Error response from daemon: Get "http://r:5000/v2/": unauthorized: authentication required\n'
    assert not (tmp_path / "cfg").exists()


def test_login_with_stored_credentials(daemon_factory, tmp_path):
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    (cfg / "config.json").write_text(json.dumps({"auths": {"r:5000": {"auth": encode_auth("tracer", "pw")}}}))
    d = daemon_factory(lambda req: Reply(200, {"IdentityToken": "", "Status": "Login Succeeded"}))
    r = Run(tmp_path, d.host, ["login", "r:5000"], environ={"DOCKER_CONFIG": str(cfg)})
    assert (r.status, r.out) == (0, "Login Succeeded\n")
    assert r.err == ("Authenticating with existing credentials... [Username: tracer]\n\n"
                     " Info -> To login with a different account, run 'hako logout' followed by 'hako login'\n\n\n")
    assert d.requests[0].json() == {"username": "tracer", "password": "pw", "serveraddress": "r:5000"}


def test_logout_of_every_legacy_form(daemon_factory, tmp_path):
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    auths = {"r:5000": {"auth": encode_auth("a", "b")}, "https://r:5000": {"auth": encode_auth("c", "d")},
             "keep:1": {"auth": encode_auth("e", "f")}}
    (cfg / "config.json").write_text(json.dumps({"auths": auths}))
    d = daemon_factory(lambda req: Reply(500, {"message": "no call expected"}))
    r = Run(tmp_path, d.host, ["logout", "https://r:5000/v2/"], environ={"DOCKER_CONFIG": str(cfg)})
    assert (r.status, r.out) == (0, "Removing login credentials for r:5000\n")
    assert json.loads((cfg / "config.json").read_text()) == {"auths": {"keep:1": auths["keep:1"]}}
    r = Run(tmp_path, d.host, ["logout"], environ={"DOCKER_CONFIG": str(cfg)})
    assert r.out == "Removing login credentials for https://index.docker.io/v1/\n"
    assert d.requests == []
