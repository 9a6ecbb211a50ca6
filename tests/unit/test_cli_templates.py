"""--format and inspect -f end to end: the CLI against the fake Engine API of test_cli_e2e.

Expected outputs and messages were taken from docker 28.2 run against the same kind of fake
daemon (docker's ps, images and inspect render templates in the CLI, so a fake is enough).
"""

from __future__ import annotations

import time

from .test_cli_e2e import CID, Reply, Run, container_summary, daemon_factory  # noqa: F401

CONTAINER = {"Id": CID, "Name": "/web",
             "State": {"Status": "running", "Running": True, "Pid": 42},
             "Config": {"Image": "nginx", "Labels": {"a": "x<y"}}}


def inspect_daemon(daemon_factory):
    def handler(req):
        if req.path == "/containers/web/json":
            return Reply(200, CONTAINER)
        return Reply(404, {"message": f"No such object: {req.path}"})
    return daemon_factory(handler)


# -- inspect -f --------------------------------------------------------------------------------

def test_inspect_missing_key_is_an_error_with_status_1(daemon_factory, tmp_path):
    d = inspect_daemon(daemon_factory)
    r = Run(tmp_path, d.host, ["inspect", "-f", "{{.Missing}}", "web"])
    # docker flushes an empty line when no object rendered
    assert (r.status, r.out) == (1, "\n")
    assert r.err == ('template parsing error: template: :1:2: executing "" at <.Missing>: '
                     'map has no entry for key "Missing"\n')


def test_inspect_parse_error_exits_64_before_any_lookup(daemon_factory, tmp_path):
    d = inspect_daemon(daemon_factory)
    r = Run(tmp_path, d.host, ["inspect", "-f", "{{foo}}", "web"])
    assert (r.status, r.out) == (64, "")
    assert r.err == 'template parsing error: template: :1: function "foo" not defined\n'
    assert d.requests == []


def test_inspect_execution_error_names_go_interface_type(daemon_factory, tmp_path):
    d = inspect_daemon(daemon_factory)
    r = Run(tmp_path, d.host, ["container", "inspect", "-f", "{{.Name.X}}", "web"])
    assert r.status == 1
    assert r.err == ('template parsing error: template: :1:7: executing "" at <.Name.X>: '
                     "can't evaluate field X in type interface {}\n")


def test_inspect_health_idioms_behave_as_with_dockers_structs(daemon_factory, tmp_path):
    # hakod, like dockerd, leaves State.Health out without a healthcheck; docker's struct
    # still has it (a nil pointer), so these work...
    d = inspect_daemon(daemon_factory)
    r = Run(tmp_path, d.host, ["inspect", "-f",
                               "{{.State.Health}}|{{if .State.Health}}h{{else}}none{{end}}|"
                               "{{json .State}}|{{.SizeRw}}", "web"])
    assert (r.status, r.out, r.err) == \
        (0, '<nil>|none|{"Status":"running","Running":true,"Pid":42}|<nil>\n', "")
    # ...while its fields fail the struct pass, and the raw JSON pass names the missing key.
    r = Run(tmp_path, d.host, ["inspect", "-f", "{{.State.Health.Status}}", "web"])
    assert r.status == 1
    assert r.err == ('template parsing error: template: :1:8: executing "" at '
                     '<.State.Health.Status>: map has no entry for key "Health"\n')


def test_inspect_json_keeps_html_characters(daemon_factory, tmp_path):
    d = inspect_daemon(daemon_factory)
    r = Run(tmp_path, d.host, ["inspect", "-f", "{{json .Config.Labels}}", "web"])
    assert (r.status, r.out) == (0, '{"a":"x<y"}\n')


def test_inspect_goes_on_past_failures_and_reports_them_in_order(daemon_factory, tmp_path):
    d = inspect_daemon(daemon_factory)
    r = Run(tmp_path, d.host, ["inspect", "--type", "container", "-f", "{{.Name}}",
                               "web", "nothing", "web"])
    assert (r.status, r.out) == (1, "/web\n/web\n")
    assert r.err == "Error response from daemon: No such object: /containers/nothing/json\n"
    r = Run(tmp_path, d.host, ["inspect", "-f", "{{.Missing}}", "web", "nothing"])
    assert (r.status, r.out) == (1, "\n")
    assert r.err.splitlines() == [
        'template parsing error: template: :1:2: executing "" at <.Missing>: '
        'map has no entry for key "Missing"',
        "Error: No such object: nothing"]


# -- ps and images --format ----------------------------------------------------------------------

def ps_daemon(daemon_factory, summary=None):
    summary = summary or container_summary("web", time.time() - 60)
    return daemon_factory(lambda req: Reply(body=[summary]))


def test_ps_checks_the_format_on_an_empty_container_before_listing(daemon_factory, tmp_path):
    d = ps_daemon(daemon_factory)
    r = Run(tmp_path, d.host, ["ps", "--format", "table {{.Names}} {{.Nope}}"])
    assert (r.status, r.out) == (1, "")
    assert r.err == ('failed to execute template: template: :1:19: executing "" at <.Nope>: '
                     "can't evaluate field Nope in type *formatter.ContainerContext\n")
    r = Run(tmp_path, d.host, ["ps", "--format", "{{.Label}}"])
    assert r.err == ('failed to execute template: template: :1:2: executing "" at <.Label>: '
                     "wrong number of args for Label: want 1 got 0\n")
    r = Run(tmp_path, d.host, ["ps", "--format", "{{foo}}"])
    assert (r.status, r.err) == \
        (1, 'failed to parse template: template: :1: function "foo" not defined\n')
    assert d.requests == []


def test_ps_error_that_only_a_real_row_meets(daemon_factory, tmp_path):
    # The empty container has no name, so only the listed one reaches .Names.X.
    d = ps_daemon(daemon_factory)
    r = Run(tmp_path, d.host, ["ps", "--format", "{{if .Names}}{{.Names.X}}{{end}}"])
    assert (r.status, r.out) == (1, "")
    assert r.err == ('template parsing error: template: :1:21: executing "" at <.Names.X>: '
                     "can't evaluate field X in type string\n")


def test_ps_asks_for_sizes_only_when_the_template_reads_them(daemon_factory, tmp_path):
    d = ps_daemon(daemon_factory)
    for fmt, asks in [("{{.Size}}", True), ("{{json .}}", True), ("table {{.Names}}", False),
                      ("json", False)]:
        d.requests.clear()
        r = Run(tmp_path, d.host, ["ps", "--format", fmt])
        assert r.status == 0, r.err
        assert (d.requests[0].query.get("size") == "1") == asks, fmt


def test_row_json_escapes_html_and_field_json_does_not(daemon_factory, tmp_path):
    summary = dict(container_summary("web", time.time() - 60), Image="nginx:<latest>",
                   Labels={"a": "x<y"})
    d = ps_daemon(daemon_factory, summary)
    r = Run(tmp_path, d.host, ["ps", "--format", "{{json .}}"])
    assert r.status == 0, r.err
    assert '"Image":"nginx:\\u003clatest\\u003e"' in r.out
    assert '"Labels":"a=x\\u003cy"' in r.out
    r = Run(tmp_path, d.host, ["ps", "--format", "{{json .Image}} {{json .Labels}}"])
    assert r.out == '"nginx:<latest>" "a=x<y"\n'
    # the "json" shorthand is the same row JSON
    assert Run(tmp_path, d.host, ["ps", "--format", "json"]).out == \
        Run(tmp_path, d.host, ["ps", "--format", "{{json .}}"]).out


def test_table_header_of_a_label_is_the_key(daemon_factory, tmp_path):
    summary = dict(container_summary("web", time.time() - 60), Labels={"com.example.my-tier": "front"})
    d = ps_daemon(daemon_factory, summary)
    r = Run(tmp_path, d.host, ["ps", "--format",
                               'table {{.Names}}\\t{{.Label "com.example.my-tier"}}'])
    assert r.out == "NAMES     my tier\nweb       front\n"


def test_images_execution_error_is_a_template_parsing_error(daemon_factory, tmp_path):
    image = {"Id": "sha256:" + "b" * 64, "RepoTags": ["busybox:latest"], "RepoDigests": [],
             "Created": int(time.time()) - 60, "Size": 100, "SharedSize": -1, "Containers": -1}
    d = daemon_factory(lambda req: Reply(body=[image]))
    r = Run(tmp_path, d.host, ["images", "--format", "table {{.ID}} {{.Nope}}"])
    assert (r.status, r.out) == (1, "")
    assert r.err == ('template parsing error: template: :1:10: executing "" at <.Nope>: '
                     "can't evaluate field Nope in type *formatter.imageContext\n")
    r = Run(tmp_path, d.host, ["images", "--format", "{{json .}}"])
    assert '"Digest":"\\u003cnone\\u003e"' in r.out
