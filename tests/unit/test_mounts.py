"""Pure logic of container mounts: -v parsing, --mount validation, the plan's precedence,
tmpfs options, propagation checks, and the CLI's --mount CSV."""

from __future__ import annotations

import pytest

from hako.cli.mountopt import parse_mount
from hako.containers import mounts
from hako.containers.model import Container, ContainerConfig, HostConfig, MountPoint, MountRequest
from hako.errdefs import InvalidArgument


@pytest.mark.parametrize("spec, kind, expect", [
    ("/h:/c", "bind", ("/h", "/c", False, "", "")),
    ("/h/../x:/c/:ro", "bind", ("/x", "/c", True, "", "ro")),
    ("/h:/c:ro,rslave", "bind", ("/h", "/c", True, "rslave", "ro,rslave")),
    ("vol1:/data", "volume", ("vol1", "/data", False, "", "")),
    ("vol1:/data:nocopy,z", "volume", ("vol1", "/data", False, "", "nocopy,z")),
])
def test_parse_bind(spec, kind, expect):
    b = mounts.parse_bind(spec)
    assert ("volume" if b.is_volume else "bind") == kind
    assert (b.source, b.destination, b.readonly, b.propagation, b.mode) == expect


@pytest.mark.parametrize("spec, message", [
    ("/h", "invalid volume specification: '/h'"),
    ("/h:c", "invalid mount path: 'c' mount path must be absolute"),
    ("/h:/", "destination can't be '/'"),
    ("/h:/c:ro,rw", "invalid mode: ro,rw"),
    ("/h:/c:nocopy", "invalid mode: nocopy"),
    ("vol:/c:rshared", "invalid mode: rshared"),
    ("a/b:/c", '"a/b" includes invalid characters for a local volume name'),
    ("/a:/b:/c:/d", "invalid volume specification"),
])
def test_parse_bind_refuses(spec, message):
    with pytest.raises(InvalidArgument) as err:
        mounts.parse_bind(spec)
    assert message in str(err.value)


@pytest.mark.parametrize("request_, kwargs, message", [
    (MountRequest("bind", "/c"), {}, 'invalid mount config for type "bind": field Source must not be empty'),
    (MountRequest("bind", "/c", source="rel"), {}, "invalid mount path: 'rel' mount path must be absolute"),
    (MountRequest("bind", "/c", source="/no/such/hako/path"), {}, "bind source path does not exist: /no/such/hako/path"),
    (MountRequest("bind", "/c", source="/"), {"has_volume_options": True}, "field VolumeOptions must not be specified"),
    (MountRequest("volume", ""), {}, "field Target must not be empty"),
    (MountRequest("volume", "/c"), {"has_bind_options": True}, "field BindOptions must not be specified"),
    (MountRequest("tmpfs", "/c", source="x"), {}, 'invalid mount config for type "tmpfs": field Source must not be specified'),
    (MountRequest("npipe", "/c"), {}, 'invalid mount config for type "npipe": mount type unknown'),
    (MountRequest("volume", "/c", driver="nfs"), {}, 'plugin "nfs" not found'),
])
def test_check_mount_request(request_, kwargs, message):
    with pytest.raises(InvalidArgument) as err:
        mounts.check_mount_request(request_, **kwargs)
    assert message in str(err.value)


def _container(**host) -> Container:
    volumes = host.pop("volumes", {})
    return Container("", "", "", ContainerConfig(volumes=volumes), HostConfig(**host))


def test_plan_precedence_and_anonymous_volumes():
    donor = _container()
    donor.mounts = [MountPoint("volume", "/shared", source="/v/s", name="s", rw=True),
                    MountPoint("bind", "/over", source="/x", rw=True)]
    c = _container(binds=["/h:/over:ro", "named:/n"], volumes_from=["donor:ro"],
                   mounts=[MountRequest("tmpfs", "/t", tmpfs_size=1024)], tmpfs={"/run": ""},
                   volumes={"/anon": {}, "/n": {}, "/run": {}})
    points = {p.destination: p for p in mounts.plan(c, {"/img": {}}, lambda name: donor)}
    assert set(points) == {"/shared", "/over", "/n", "/t", "/anon", "/img"}
    assert points["/shared"].rw is False and points["/shared"].name == "s"         # :ro from --volumes-from
    assert points["/over"].source == "/h" and points["/over"].mode == "ro"          # -v replaces volumes-from
    assert points["/n"].name == "named" and points["/n"].mode == "z" and points["/n"].copy_data
    assert points["/anon"].anonymous and points["/anon"].name == "" and points["/img"].copy_data
    assert points["/t"].tmpfs_options == ["nosuid", "nodev", "noexec", "size=1024"]


def test_plan_duplicates():
    c = _container(binds=["/a:/d"], mounts=[MountRequest("volume", "/d", source="v")])
    with pytest.raises(InvalidArgument, match="Duplicate mount point: /d"):
        mounts.plan(c, {}, lambda n: None)
    c = _container(binds=["/a:/d", "/b:/d"])
    with pytest.raises(InvalidArgument, match="Duplicate mount point: /d"):
        mounts.plan(c, {}, lambda n: None)
    c = _container(volumes_from=["x:rx"])
    with pytest.raises(InvalidArgument, match="invalid mode: rx"):
        mounts.plan(c, {}, lambda n: None)


@pytest.mark.parametrize("options, expect", [
    ("", ["nosuid", "nodev", "noexec"]),
    ("size=64m,exec", ["nosuid", "nodev", "size=64m"]),
    ("ro,mode=1777,size=1G", ["nosuid", "nodev", "noexec", "ro", "mode=1777", "size=1g"]),
])
def test_tmpfs_options(options, expect):
    assert mounts.tmpfs_options(options) == expect


@pytest.mark.parametrize("options", ["size=lots", "bogus"])
def test_tmpfs_options_refused(options):
    with pytest.raises(InvalidArgument, match="invalid tmpfs option"):
        mounts.tmpfs_options(options)


MOUNTINFO = """\
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
40 27 0:40 / /srv/shared rw shared:7 - tmpfs tmpfs rw
41 27 0:41 / /srv/slave rw master:7 - tmpfs tmpfs rw
"""


@pytest.mark.parametrize("source, propagation, error", [
    ("/srv/shared/x", "rshared", None),
    ("/srv/shared/x", "rslave", None),
    ("/srv/slave", "slave", None),
    ("/srv/slave", "shared", "path /srv/slave is mounted on /srv/slave but it is not a shared mount"),
    ("/home/x", "rslave", "path /home/x is mounted on / but it is not a shared or slave mount"),
])
def test_check_propagation(source, propagation, error):
    points = [MountPoint("bind", "/c", source=source, propagation=propagation)]
    if error is None:
        mounts.check_propagation(points, MOUNTINFO)
        assert mounts.rootfs_propagation(points) == ("shared" if "shared" in propagation else "rslave")
    else:
        with pytest.raises(InvalidArgument, match=error):
            mounts.check_propagation(points, MOUNTINFO)


def test_oci_mounts():
    points = [MountPoint("bind", "/a", source="/h", rw=False, propagation="rprivate"),
              MountPoint("volume", "/v", source="/data/v/_data", name="v"),
              MountPoint("tmpfs", "/t", rw=False, tmpfs_options=["nosuid"])]
    assert mounts.oci_mounts(points, {"/run": "size=1m"}) == [
        {"destination": "/a", "type": "bind", "source": "/h", "options": ["rbind", "rprivate", "ro"]},
        {"destination": "/v", "type": "bind", "source": "/data/v/_data", "options": ["rbind", "rprivate"]},
        {"destination": "/t", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "ro"]},
        {"destination": "/run", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "noexec", "size=1m"]},
    ]


@pytest.mark.parametrize("text, expect", [
    ("type=bind,src=/a,dst=/b,readonly,bind-propagation=rslave",
     {"Type": "bind", "Source": "/a", "Target": "/b", "ReadOnly": True, "BindOptions": {"Propagation": "rslave"}}),
    ("source=v,target=/d,volume-nocopy,volume-label=a=b,volume-opt=type=tmpfs",
     {"Type": "volume", "Source": "v", "Target": "/d",
      "VolumeOptions": {"NoCopy": True, "Labels": {"a": "b"}, "DriverConfig": {"Options": {"type": "tmpfs"}}}}),
    ("type=tmpfs,destination=/t,tmpfs-size=1m,tmpfs-mode=1770",
     {"Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": 1 << 20, "Mode": 0o1770}}),
    ('type=bind,"src=/a,b",dst=/c', {"Type": "bind", "Source": "/a,b", "Target": "/c"}),
])
def test_parse_mount_csv(text, expect):
    assert parse_mount(text) == expect


@pytest.mark.parametrize("text, message", [
    ("type=volume,bogus=1", "unexpected key 'bogus' in 'bogus=1'"),
    ("type=volume,dst", "invalid field 'dst' must be a key=value pair"),
    ("type=volume,dst=/a,bind-propagation=rslave", "cannot mix 'bind-*' options with mount type 'volume'"),
    ("type=tmpfs,dst=/a,tmpfs-mode=9", "invalid value for tmpfs-mode: 9"),
    ("type=bind,readonly=maybe", "invalid value for readonly: maybe"),
])
def test_parse_mount_csv_refused(text, message):
    with pytest.raises(ValueError) as err:
        parse_mount(text)
    assert str(err.value) == message
