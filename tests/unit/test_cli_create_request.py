"""`run`/`create` flags -> the exact `POST /containers/create` body docker's CLI sends.

The expected bodies were captured from docker CLI 28.2.2 (the real binary, talking to a stub
server that recorded each request): BASE is `docker run busybox`, and every case lists the
fields in which docker's body differed from BASE, as (path, value) pairs with "<absent>" for
a field docker left out. That is the comparison Appendix A.2 of docker-cli-trace.md makes.
"""

from __future__ import annotations

import copy
import shlex

import pytest

from hako.cli import flags
from hako.cli.containeropts import CREATE_FLAGS, RUN_FLAGS, OptionError, build_create_request

ENV_FILE_TEXT = "FROMFILE=1\n# comment\n\nEMPTYVAL=\nPASSTHRU\n"
ENVIRON = {"FOO": "from-env", "PASSTHRU": "passed"}
CAPTURED_ENV_FILE = "/tmp/hcli/files/env.list"
ABSENT = "<absent>"

BASE = {'Hostname': '',
 'Domainname': '',
 'User': '',
 'AttachStdin': False,
 'AttachStdout': True,
 'AttachStderr': True,
 'Tty': False,
 'OpenStdin': False,
 'StdinOnce': False,
 'Env': None,
 'Cmd': None,
 'Image': 'busybox',
 'Volumes': {},
 'WorkingDir': '',
 'Entrypoint': None,
 'OnBuild': None,
 'Labels': {},
 'HostConfig': {'Binds': None,
                'ContainerIDFile': '',
                'LogConfig': {'Type': '', 'Config': {}},
                'NetworkMode': 'default',
                'PortBindings': {},
                'RestartPolicy': {'Name': 'no', 'MaximumRetryCount': 0},
                'AutoRemove': False,
                'VolumeDriver': '',
                'VolumesFrom': None,
                'ConsoleSize': [0, 0],
                'CapAdd': None,
                'CapDrop': None,
                'CgroupnsMode': '',
                'Dns': [],
                'DnsOptions': [],
                'DnsSearch': [],
                'ExtraHosts': None,
                'GroupAdd': None,
                'IpcMode': '',
                'Cgroup': '',
                'Links': None,
                'OomScoreAdj': 0,
                'PidMode': '',
                'Privileged': False,
                'PublishAllPorts': False,
                'ReadonlyRootfs': False,
                'SecurityOpt': None,
                'UTSMode': '',
                'UsernsMode': '',
                'ShmSize': 0,
                'Isolation': '',
                'CpuShares': 0,
                'Memory': 0,
                'NanoCpus': 0,
                'CgroupParent': '',
                'BlkioWeight': 0,
                'BlkioWeightDevice': [],
                'BlkioDeviceReadBps': [],
                'BlkioDeviceWriteBps': [],
                'BlkioDeviceReadIOps': [],
                'BlkioDeviceWriteIOps': [],
                'CpuPeriod': 0,
                'CpuQuota': 0,
                'CpuRealtimePeriod': 0,
                'CpuRealtimeRuntime': 0,
                'CpusetCpus': '',
                'CpusetMems': '',
                'Devices': [],
                'DeviceCgroupRules': None,
                'DeviceRequests': None,
                'MemoryReservation': 0,
                'MemorySwap': 0,
                'MemorySwappiness': -1,
                'OomKillDisable': False,
                'PidsLimit': 0,
                'Ulimits': [],
                'CpuCount': 0,
                'CpuPercent': 0,
                'IOMaximumIOps': 0,
                'IOMaximumBandwidth': 0,
                'MaskedPaths': None,
                'ReadonlyPaths': None},
 'NetworkingConfig': {'EndpointsConfig': {'default': {'IPAMConfig': None,
                                                      'Links': None,
                                                      'Aliases': None,
                                                      'MacAddress': '',
                                                      'DriverOpts': None,
                                                      'GwPriority': 0,
                                                      'NetworkID': '',
                                                      'EndpointID': '',
                                                      'Gateway': '',
                                                      'IPAddress': '',
                                                      'IPPrefixLen': 0,
                                                      'IPv6Gateway': '',
                                                      'GlobalIPv6Address': '',
                                                      'GlobalIPv6PrefixLen': 0,
                                                      'DNSNames': None}}}}

CASES = [
    ('run busybox', '', []),
    ('run --rm busybox echo hi', '', [(('Cmd',), ['echo', 'hi']), (('HostConfig', 'AutoRemove'), True)]),
    ('run -d --name web -p 18080:80 busybox httpd -f -p 80', 'web', [(('AttachStdout',), False), (('AttachStderr',), False), (('Cmd',), ['httpd', '-f', '-p', '80']), (('HostConfig', 'PortBindings'), {'80/tcp': [{'HostIp': '', 'HostPort': '18080'}]}), (('ExposedPorts',), {'80/tcp': {}})]),
    ('run -i --rm busybox cat', '', [(('AttachStdin',), True), (('OpenStdin',), True), (('StdinOnce',), True), (('Cmd',), ['cat']), (('HostConfig', 'AutoRemove'), True)]),
    ('run -it --rm busybox sh', '', [(('AttachStdin',), True), (('Tty',), True), (('OpenStdin',), True), (('StdinOnce',), True), (('Cmd',), ['sh']), (('HostConfig', 'AutoRemove'), True)]),
    ('run -d -it --name ttyc busybox sh', 'ttyc', [(('AttachStdout',), False), (('AttachStderr',), False), (('Tty',), True), (('OpenStdin',), True), (('Cmd',), ['sh'])]),
    ('run -t busybox sh', '', [(('Tty',), True), (('Cmd',), ['sh'])]),
    ('create --label trace.session=1 --name prunable busybox true', 'prunable', [(('Cmd',), ['true']), (('Labels',), {'trace.session': '1'})]),
    ('run --rm -v vol1:/data -v /tmp:/host:ro busybox cat /data/f', '', [(('Cmd',), ['cat', '/data/f']), (('HostConfig', 'Binds'), ['/tmp:/host:ro', 'vol1:/data']), (('HostConfig', 'AutoRemove'), True)]),
    ('run -d --network mynet busybox sleep 300', '', [(('AttachStdout',), False), (('AttachStderr',), False), (('Cmd',), ['sleep', '300']), (('HostConfig', 'NetworkMode'), 'mynet'), (('NetworkingConfig', 'EndpointsConfig'), {})]),
    ('run -e FOO -e BAR=2 -e UNSET_VAR --env-file /tmp/hcli/files/env.list busybox env', '', [(('Env',), ['FROMFILE=1', 'EMPTYVAL=', 'PASSTHRU=passed', 'FOO=from-env', 'BAR=2', 'UNSET_VAR']), (('Cmd',), ['env'])]),
    ('run -w /tmp -u nobody --entrypoint /bin/echo busybox hi', '', [(('User',), 'nobody'), (('Cmd',), ['hi']), (('WorkingDir',), '/tmp'), (('Entrypoint',), ['/bin/echo'])]),
    ("run --entrypoint '' busybox sh", '', [(('Cmd',), ['sh']), (('Entrypoint',), [''])]),
    ('run -m 512m --memory-reservation 256m --memory-swap -1 busybox', '', [(('HostConfig', 'Memory'), 536870912), (('HostConfig', 'MemoryReservation'), 268435456), (('HostConfig', 'MemorySwap'), -1)]),
    ('run --cpus 0.5 --cpu-shares 100 --cpuset-cpus 0 --pids-limit -1 busybox', '', [(('HostConfig', 'CpuShares'), 100), (('HostConfig', 'NanoCpus'), 500000000), (('HostConfig', 'CpusetCpus'), '0'), (('HostConfig', 'PidsLimit'), -1)]),
    ('run --restart always busybox', '', [(('HostConfig', 'RestartPolicy', 'Name'), 'always')]),
    ('run --restart unless-stopped busybox', '', [(('HostConfig', 'RestartPolicy', 'Name'), 'unless-stopped')]),
    ('run --cap-add ALL --cap-drop chown --cap-add sys_admin busybox', '', [(('HostConfig', 'CapAdd'), ['ALL', 'CAP_SYS_ADMIN']), (('HostConfig', 'CapDrop'), ['CAP_CHOWN'])]),
    ('run --privileged --read-only --init busybox', '', [(('HostConfig', 'Privileged'), True), (('HostConfig', 'ReadonlyRootfs'), True), (('HostConfig', 'Init'), True)]),
    ('run --security-opt seccomp=unconfined --security-opt apparmor=unconfined busybox', '', [(('HostConfig', 'SecurityOpt'), ['seccomp=unconfined', 'apparmor=unconfined'])]),
    ('run --log-opt max-size=1m --log-opt max-file=3 busybox', '', [(('HostConfig', 'LogConfig', 'Config'), {'max-file': '3', 'max-size': '1m'})]),
    ('run -l a=b --label c=d=e -l x busybox', '', [(('Labels',), {'a': 'b', 'c': 'd=e', 'x': ''})]),
    ('run --stop-signal KILL --stop-timeout 0 busybox', '', [(('StopSignal',), 'KILL'), (('StopTimeout',), 0)]),
    ('run --hostname h1 busybox', '', [(('Hostname',), 'h1')]),
    ('run --ulimit nofile=10:20 --ulimit core=-1 busybox', '', [(('HostConfig', 'Ulimits'), [{'Name': 'core', 'Hard': -1, 'Soft': -1}, {'Name': 'nofile', 'Hard': 20, 'Soft': 10}])]),
    ('run --no-healthcheck busybox', '', [(('Healthcheck',), {'Test': ['NONE']})]),
    ("run --health-cmd 'curl x' --health-retries 2 busybox", '', [(('Healthcheck',), {'Test': ['CMD-SHELL', 'curl x'], 'Retries': 2})]),
    ('run --health-interval 1m30s busybox', '', [(('Healthcheck',), {'Interval': 90000000000})]),
    ('run --detach-keys ctrl-a,b busybox', '', []),
    ('run --name n1 --network host busybox', 'n1', [(('HostConfig', 'NetworkMode'), 'host'), (('NetworkingConfig', 'EndpointsConfig'), {})]),
    ('run -p 8080:80/udp -p 127.0.0.1:9000:9000 -p 5000 busybox', '', [(('HostConfig', 'PortBindings'), {'5000/tcp': [{'HostIp': '', 'HostPort': ''}], '80/udp': [{'HostIp': '', 'HostPort': '8080'}], '9000/tcp': [{'HostIp': '127.0.0.1', 'HostPort': '9000'}]}), (('ExposedPorts',), {'5000/tcp': {}, '80/udp': {}, '9000/tcp': {}})]),
    ('run -a stdout busybox', '', [(('AttachStderr',), False)]),
    ('run --memory-swap 2g -m 1g busybox', '', [(('HostConfig', 'Memory'), 1073741824), (('HostConfig', 'MemorySwap'), 2147483648)]),
    ('create -it busybox', '', [(('AttachStdin',), True), (('Tty',), True), (('OpenStdin',), True), (('StdinOnce',), True)]),
    ('create -i busybox', '', [(('AttachStdin',), True), (('OpenStdin',), True), (('StdinOnce',), True)]),
]


def _expected(diffs):
    body = copy.deepcopy(BASE)
    for path, value in diffs:
        target = body
        for key in path[:-1]:
            target = target[key]
        if value == ABSENT:
            del target[path[-1]]
        else:
            target[path[-1]] = value
    return body


def build(command_line: str, tmp_path, console=(0, 0), cwd="/work"):
    words = shlex.split(command_line)
    verb, argv = words[0], words[1:]
    env_file = tmp_path / "env.list"
    env_file.write_text(ENV_FILE_TEXT)
    argv = [str(env_file) if a == CAPTURED_ENV_FILE else a for a in argv]
    spec = RUN_FLAGS if verb == "run" else CREATE_FLAGS
    values, args = flags.parse(spec, argv, interspersed=False)
    detach = values.get("detach", False)
    return build_create_request(values, args, environ=ENVIRON, detach=detach,
                                console_size=console, cwd=cwd)


@pytest.mark.parametrize("command_line,name,diffs", CASES, ids=[c[0] for c in CASES])
def test_body_matches_docker(command_line, name, diffs, tmp_path):
    got_name, body = build(command_line, tmp_path)
    expected = _expected(diffs)
    # docker fills Binds by ranging over a Go map, so its order varies from run to run
    for b in (body, expected):
        if b["HostConfig"]["Binds"]:
            b["HostConfig"]["Binds"].sort()
    assert got_name == name
    assert body == expected


def test_field_order_matches_docker(tmp_path):
    # Go marshals struct fields in declaration order; keep the same order for the eye and diffs.
    _, body = build("run busybox", tmp_path)
    assert list(body) == list(BASE)
    assert list(body["HostConfig"]) == list(BASE["HostConfig"])
    _, body = build("run --health-cmd x --stop-signal KILL --stop-timeout 3 -p 80 busybox", tmp_path)
    assert list(body)[:8] == ["Hostname", "Domainname", "User", "AttachStdin", "AttachStdout",
                              "AttachStderr", "ExposedPorts", "Tty"]
    assert list(body).index("Healthcheck") == list(body).index("Cmd") + 1
    assert list(body)[-4:] == ["StopSignal", "StopTimeout", "HostConfig", "NetworkingConfig"]


def test_console_size_is_the_terminal_size_with_a_tty(tmp_path):
    _, body = build("run -it busybox sh", tmp_path, console=(40, 120))
    assert body["HostConfig"]["ConsoleSize"] == [40, 120]


def test_relative_bind_source_is_made_absolute(tmp_path):
    _, body = build("run -v ./data:/data -v ../up:/up:ro -v /abs:/abs -v /anon busybox", tmp_path,
                    cwd="/home/u/project")
    assert body["HostConfig"]["Binds"] == ["/home/u/project/data:/data", "/home/u/up:/up:ro", "/abs:/abs"]
    assert body["Volumes"] == {"/anon": {}}


def test_port_ranges(tmp_path):
    _, body = build("run -p 80-82:90-92 -p 1-3:4 --expose 7000-7001 busybox", tmp_path)
    assert body["HostConfig"]["PortBindings"] == {
        "90/tcp": [{"HostIp": "", "HostPort": "80"}],
        "91/tcp": [{"HostIp": "", "HostPort": "81"}],
        "92/tcp": [{"HostIp": "", "HostPort": "82"}],
        "4/tcp": [{"HostIp": "", "HostPort": "1-3"}],
    }
    assert set(body["ExposedPorts"]) == {"90/tcp", "91/tcp", "92/tcp", "4/tcp", "7000/tcp", "7001/tcp"}


def test_run_detached_with_rm_keeps_auto_remove(tmp_path):
    _, body = build("run -d --rm busybox", tmp_path)
    assert body["HostConfig"]["AutoRemove"] is True
    assert (body["AttachStdout"], body["AttachStderr"], body["StdinOnce"]) == (False, False, False)


@pytest.mark.parametrize("command_line,message", [
    ("run --rm --restart always busybox", "conflicting options: cannot specify both --restart and --rm"),
    ("run --no-healthcheck --health-retries 1 busybox", "--no-healthcheck conflicts with --health-* options"),
    ("run --health-retries -1 busybox", "--health-retries cannot be negative"),
    ("run --restart=on-failure:x busybox", "invalid restart policy format: maximum retry count must be an integer"),
    ("run -p bad busybox", "invalid containerPort: bad"),
    ("run --env-file /nonexistent/env busybox", "open /nonexistent/env: no such file or directory"),
])
def test_client_side_validation_matches_docker(command_line, message, tmp_path):
    with pytest.raises(OptionError) as info:
        build(command_line, tmp_path)
    assert str(info.value) == message


@pytest.mark.parametrize("argv,message", [
    (["-a", "bogus", "busybox"], 'invalid argument "bogus" for "-a, --attach" flag: valid streams are STDIN, STDOUT and STDERR'),
    (["--ulimit", "bogus=1", "busybox"], 'invalid argument "bogus=1" for "--ulimit" flag: invalid ulimit type: bogus'),
    (["--ulimit", "nofile=5:2", "busybox"], 'invalid argument "nofile=5:2" for "--ulimit" flag: ulimit soft limit must be less than or equal to hard limit: 5 > 2'),
    (["-e", "=x", "busybox"], 'invalid argument "=x" for "-e, --env" flag: invalid environment variable: =x'),
    (["--cpus", "1.23456789012", "busybox"], 'invalid argument "1.23456789012" for "--cpus" flag: value is too precise'),
    (["--cpus", "abc", "busybox"], 'invalid argument "abc" for "--cpus" flag: failed to parse abc as a rational number'),
    (["-m", "abc", "busybox"], 'invalid argument "abc" for "-m, --memory" flag: invalid size: \'abc\''),
    (["--health-interval", "x", "busybox"], 'invalid argument "x" for "--health-interval" flag: time: invalid duration "x"'),
    (["--stop-timeout", "x", "busybox"], 'invalid argument "x" for "--stop-timeout" flag: strconv.ParseInt: parsing "x": invalid syntax'),
])
def test_flag_value_errors_match_docker(argv, message):
    with pytest.raises(flags.FlagError) as info:
        flags.parse(RUN_FLAGS, argv, interspersed=False)
    assert str(info.value) == message
