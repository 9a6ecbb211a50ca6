"""Go text/template as docker's --format and inspect -f use it (hako.cli.gotemplate).

Expected outputs were checked against Go itself: the docker CLI renders a --format template
locally for ``docker context ls``, with no daemon involved. The last test class repeats that
comparison live when a docker CLI is installed.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from hako.cli.gotemplate import (MISSING, Template, TemplateError, header_for, parse_table,
                                 render)

CONTAINER = {
    "Id": "4f3c2b1a",
    "Name": "/web",
    "Args": ["-g", "daemon off;"],
    "State": {"Status": "running", "Running": True, "Pid": 1234, "ExitCode": 0,
              "Health": None},
    "Config": {
        "Image": "nginx:latest",
        "Env": ["PATH=/usr/bin", "A=1"],
        "Labels": {"com.example.x": "hello", "a": "1"},
        "Cmd": ["nginx", "-g", "daemon off;"],
        "Entrypoint": None,
    },
    "Mounts": [{"Source": "/srv/a", "Destination": "/a"},
               {"Source": "/srv/b", "Destination": "/b"}],
    "NetworkSettings": {"IPAddress": "172.17.0.2",
                        "Networks": {"bridge": {"IPAddress": "172.17.0.2"},
                                     "alpha": {"IPAddress": "10.0.0.2"}}},
    "SizeRw": 1000000.0,
}


def r(template: str, data=CONTAINER) -> str:
    return render(template, data)


# -- the forms people use --------------------------------------------------------------------


@pytest.mark.parametrize("template, expected", [
    ("{{.State.Pid}}", "1234"),
    ("{{.NetworkSettings.IPAddress}}", "172.17.0.2"),
    ("{{range .Mounts}}{{.Source}} {{end}}", "/srv/a /srv/b "),
    ('{{index .Config.Labels "com.example.x"}}', "hello"),
    ('{{range $k, $v := .Config.Labels}}{{$k}}={{$v}}{{"\\n"}}{{end}}',
     "a=1\ncom.example.x=hello\n"),
    ("{{if .State.Running}}up{{else}}down{{end}}", "up"),
    ('{{join .Args ","}}', "-g,daemon off;"),
    ('{{printf "%-10s|" .Name}}', "/web      |"),
    ("{{.Name}} {{.State.Status}}", "/web running"),
    ("{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", "10.0.0.2 172.17.0.2 "),
    ("{{range $name, $net := .NetworkSettings.Networks}}{{$name}} {{end}}", "alpha bridge "),
    ("{{.Config.Image}}", "nginx:latest"),
])
def test_common_forms(template, expected):
    assert r(template) == expected


def test_json_of_an_object_is_compact_in_given_key_order():
    assert r("{{json .Config}}") == (
        '{"Image":"nginx:latest","Env":["PATH=/usr/bin","A=1"],'
        '"Labels":{"com.example.x":"hello","a":"1"},"Cmd":["nginx","-g","daemon off;"],'
        '"Entrypoint":null}')


def test_json_does_not_escape_html_but_escapes_line_separators():
    # docker's json function turns SetEscapeHTML off; Go's encoder still escapes U+2028/9.
    assert r("{{json .}}", {"a": "<b>&\u2028\n\"é"}) == '{"a":"<b>&\\u2028\\n\\"é"}'


def test_json_numbers_as_go_writes_float64():
    data = {"big": 1e21, "int_float": 1.0, "small": 1e-7, "i": 5, "f": 2.5, "t": True}
    assert r("{{json .}}", data) == \
        '{"big":1e+21,"int_float":1,"small":1e-7,"i":5,"f":2.5,"t":true}'


def test_json_of_a_row_object_uses_its_as_dict():
    class Row:
        def as_dict(self):
            return {"ID": "abc", "Names": "web"}
    assert r("{{json .}}", Row()) == '{"ID":"abc","Names":"web"}'


# -- fields, dot, variables ------------------------------------------------------------------


def test_dot_and_dollar_are_the_data():
    assert r("{{.}}", "hi") == "hi"
    assert r("{{with .State}}{{$.Name}} {{.Pid}}{{end}}") == "/web 1234"


def test_missing_map_key_prints_no_value_and_chains_on():
    assert r("{{.Nope}}|{{.Nope.Deeper}}|{{.State.Nope}}") == "<no value>|<no value>|<no value>"


def test_null_prints_nil_and_its_fields_are_no_value():
    assert r("{{.State.Health}}|{{.State.Health.Status}}") == "<nil>|<no value>"


def test_field_of_a_string_is_an_error_with_go_position():
    with pytest.raises(TemplateError) as err:
        r("{{.Name.Foo}}")
    # Go positions a field chain at its last element.
    assert str(err.value) == ('template: :1:7: executing "" at <.Name.Foo>: '
                              "can't evaluate field Foo in type string")


def test_object_attributes_and_methods_with_arguments():
    class Row:
        ID = "abc123"
        Names = "web"

        def Label(self, key):
            return {"tier": "front"}.get(key, "")

        @property
        def Size(self):
            return "1kB"

    row = Row()
    assert r('{{.ID}} {{.Names}} {{.Label "tier"}} {{.Size}}', row) == "abc123 web front 1kB"
    assert r('{{"tier" | .Label}}', row) == "front"
    with pytest.raises(TemplateError, match="can't evaluate field Nope in type Row"):
        r("{{.Nope}}", row)
    with pytest.raises(TemplateError, match="wrong number of args for ID: want 0 got 1"):
        r("{{.ID 1}}", row)


def test_dict_of_callables_acts_as_methods():
    row = {"Label": lambda key: "v-" + key, "ID": "x"}
    assert r('{{.Label "k"}} {{.ID}}', row) == "v-k x"
    with pytest.raises(TemplateError, match="ID is not a method but has arguments"):
        r("{{.ID 1}}", row)


def test_variables_declare_assign_and_scope():
    assert r("{{$x := .Name}}{{$x}}") == "/web"
    assert r("{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}", {}) == "2"
    assert r("{{$x := 1}}{{if true}}{{$x := 2}}{{$x}}{{end}}{{$x}}", {}) == "21"
    assert r("{{$n := .State}}{{$n.Pid}}") == "1234"


def test_undefined_variable_is_a_parse_error():
    with pytest.raises(TemplateError, match=r'^template: :1: undefined variable "\$x"$'):
        r("{{$x}}")


def test_parenthesised_pipeline_with_fields():
    assert r('{{(index .Mounts 1).Source}}') == "/srv/b"
    assert r('{{(index .Config.Labels "a")}}') == "1"


# -- control structures ----------------------------------------------------------------------


def test_if_else_if_chain():
    tpl = "{{if eq .State.Status \"exited\"}}E{{else if .State.Running}}R{{else}}?{{end}}"
    assert r(tpl) == "R"
    assert r(tpl, {"State": {"Status": "created", "Running": False}}) == "?"


def test_truth_follows_go():
    values = [0, 1, "", "x", [], [0], {}, {"a": 1}, None, False, True, 0.0]
    out = "".join(r("{{if .}}T{{else}}F{{end}}", value) for value in values)
    assert out == "FTFTFTFTFFTF"


def test_with_sets_dot_and_has_else():
    assert r("{{with .State}}{{.Pid}}{{end}}") == "1234"
    assert r("{{with .Nope}}x{{else}}none{{end}}") == "none"
    assert r("{{with $v := .Name}}{{$v}}{{end}}") == "/web"


def test_range_over_list_with_index_and_else():
    assert r("{{range $i, $e := .Args}}{{$i}}:{{$e}} {{end}}") == "0:-g 1:daemon off; "
    assert r("{{range .Nope}}x{{else}}empty{{end}}") == "empty"
    assert r("{{range .Config.Entrypoint}}x{{else}}empty{{end}}") == "empty"
    assert r("{{range .L}}x{{else}}empty{{end}}", {"L": []}) == "empty"


def test_range_over_map_is_in_sorted_key_order():
    assert r("{{range $k, $v := .}}{{$k}}{{$v}}{{end}}", {"b": 2, "a": 1, "c": 3}) == "a1b2c3"


def test_range_break_continue_and_int():
    tpl = ("{{range $i, $e := .}}{{if eq $i 1}}{{continue}}{{end}}"
           "{{if eq $i 3}}{{break}}{{end}}{{$e}}{{end}}")
    assert r(tpl, ["a", "b", "c", "d", "e"]) == "ac"
    assert r("{{range 3}}{{.}}{{end}}", {}) == "012"


def test_range_over_a_string_is_an_error():
    with pytest.raises(TemplateError, match="range can't iterate over /web"):
        r("{{range .Name}}{{end}}")


def test_define_template_and_block():
    assert r('{{define "m"}}[{{.Source}}]{{end}}{{range .Mounts}}{{template "m" .}}{{end}}') \
        == "[/srv/a][/srv/b]"
    assert r('{{block "b" .Name}}<{{.}}>{{end}}') == "</web>"
    with pytest.raises(TemplateError, match='template "nope" not defined'):
        r('{{template "nope"}}')


# -- lexing: trim markers, comments, literals ------------------------------------------------


def test_trim_markers_and_comments():
    assert r("a  {{- .Name -}}  \n b") == "a/webb"
    assert r("a {{- /* gone */ -}} b{{/* also */}}") == "ab"
    assert r("{{-3}}", {}) == "-3"  # "-3" is a number, not a trim marker


@pytest.mark.parametrize("template, expected", [
    (r'{{"\x41\u00e9\101\t"}}', "Aé A\t".replace(" ", "")),
    ("{{`raw\\n`}}", "raw\\n"),
    ("{{'a'}} {{'\\n'}}", "97 10"),
    ("{{0x1F}} {{0o17}} {{017}} {{0b101}} {{1_000}}", "31 15 15 5 1000"),
    ("{{1e3}} {{.5}} {{-.5}} {{1.0}}", "1000 0.5 -0.5 1"),
    ("{{true}} {{false}}", "true false"),
])
def test_literals(template, expected):
    assert r(template, {}) == expected


# -- functions -------------------------------------------------------------------------------


def test_comparisons_and_logic():
    assert r('{{eq .State.Pid 1234}} {{ne .Name "/x"}} {{lt 1 2}} {{le 2 2}} {{gt "b" "a"}} '
             '{{ge 1 2}} {{eq "a" "b" "a"}}') == "true true true true true false true"
    assert r("{{and 1 0 2}} {{and 1 2}} {{or 0 \"\" 3}} {{or 0 \"\"}} {{not 0}}", {}) \
        == "0 2 3  true"
    # and/or stop evaluating at the deciding argument, as Go 1.18+ does.
    assert r("{{or 1 (index .X 5)}}", {"X": []}) == "1"


def test_comparison_of_mixed_kinds_is_an_error():
    with pytest.raises(TemplateError, match="error calling eq: incompatible types for comparison"):
        r("{{eq 1 1.0}}", {})
    assert r('{{eq .Nope "x"}}') == "false"  # no value compares unequal, without error


def test_len_index_slice():
    assert r("{{len .Args}} {{len .Config.Labels}} {{len \"héllo\"}}") == "2 2 6"
    assert r('{{index .Mounts 0 "Source"}} {{index "abc" 1}}') == "/srv/a 98"
    assert r('{{slice "abcdef" 1 3}} {{slice .Args 1}}') == "bc [daemon off;]"
    with pytest.raises(TemplateError, match="error calling index: index out of range: 5"):
        r("{{index .Args 5}}")


def test_index_of_missing_label_is_empty_like_dockers_string_maps():
    assert r('{{index .Config.Labels "nope"}}') == ""
    assert r('{{index .Labels "nope"}}', {"Labels": None}) == ""
    assert r('{{index .M "nope"}}', {"M": {"a": 1}}) == "<no value>"


def test_print_println():
    assert r('{{print "a" "b" 1 2 "c"}}', {}) == "ab1 2c"
    assert r('{{println "a" 1 2}}', {}) == "a 1 2\n"
    assert r("{{print nil}}", {}) == "<nil>"


@pytest.mark.parametrize("template, expected", [
    ('{{printf "%s|%d|%v|%q|%t" "a" 3 .Args "q" true}}', 'a|3|[-g daemon off;]|"q"|true'),
    ('{{printf "%5s|%-5s|%.2s|%05d|%+d|%x|%X|%o|%#x" "ab" "ab" "héllo" 42 4 255 255 8 255}}',
     "   ab|ab   |hé|00042|+4|ff|FF|10|0xff"),
    ('{{printf "%e|%.2e|%8.3f|%g|%v" 1234.5678 1234.5678 3.14159 1e-7 1e6}}',
     "1.234568e+03|1.23e+03|   3.142|1e-07|1e+06"),
    ('{{printf "%d %s" "a"}}', "%!d(string=a) %!s(MISSING)"),
    ('{{printf "%d" 1 2}}', "1%!(EXTRA int=2)"),
    ('{{printf "%s" .State.Pid}}', "%!s(int=1234)"),
    ('{{printf "%c|%U|%q" 65 65 65}}', "A|U+0041|'A'"),
    ('{{printf "%v" .Config.Labels}}', "map[a:1 com.example.x:hello]"),
    ('{{printf "%*d|%.*f|%%" 4 7 2 3.14159}}', "   7|3.14|%"),
])
def test_printf_verbs(template, expected):
    assert r(template) == expected


def test_docker_string_functions():
    assert r('{{upper "abc"}} {{lower "ABC"}} {{title "hello wORLD-foo_bar"}}', {}) \
        == "ABC abc Hello WORLD-Foo_bar"
    assert r('{{split "a,b,c" ","}} {{join (split "a b" " ") "+"}}', {}) == "[a b c] a+b"
    assert r('{{truncate "abcdef" 3}}|{{pad "ab" 2 3}}|{{pad "" 2 3}}', {}) == "abc|  ab   |"
    assert r("{{.Name | upper | printf \"%s!\"}}") == "/WEB!"


def test_html_js_urlquery():
    assert r("""{{html "<a href='x'>&\\"</a>"}}""", {}) == \
        "&lt;a href=&#39;x&#39;&gt;&amp;&#34;&lt;/a&gt;"
    assert r("""{{js "a'b<=>"}}""", {}) == "a\\'b\\u003C\\u003D\\u003E"
    assert r('{{urlquery "a b&c=d/é"}}', {}) == "a+b%26c%3Dd%2F%C3%A9"


def test_function_argument_types_are_checked():
    with pytest.raises(TemplateError, match=r"at <3>: expected string; found 3"):
        r("{{upper 3}}", {})
    with pytest.raises(TemplateError, match=r"wrong type for value; expected string; got int"):
        r("{{upper .State.Pid}}")
    with pytest.raises(TemplateError, match=r"wrong number of args for json: want 1 got 2"):
        r("{{json 1 2}}", {})


# -- Go's printing of values -----------------------------------------------------------------


@pytest.mark.parametrize("value, expected", [
    (1000000.0, "1e+06"), (123456.0, "123456"), (1.5, "1.5"), (0.0001, "0.0001"),
    (0.00001, "1e-05"), (-0.0, "-0"), (1234567.0, "1.234567e+06"), (10**20, str(10**20)),
    ([1, "a", None, True], "[1 a <nil> true]"),
    ({"b": [1], "a": {"x": 1}}, "map[a:map[x:1] b:[1]]"),
    (MISSING, "<no value>"),
])
def test_values_print_as_go_does(value, expected):
    assert r("{{.V}}", {"V": value}) == expected


# -- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize("template, message", [
    ("{{foo}}", 'template: :1: function "foo" not defined'),
    ("{{if}}", "template: :1: missing value for if"),
    ("{{end}}", "template: :1: unexpected {{end}}"),
    ("{{if 1}}", "template: :1: unexpected EOF"),
    ("x{{", "template: :1: unclosed action"),
    ("{{.A | | .B}}", 'template: :1: unexpected "|" in command'),
    ('{{"a" | "b"}}', "template: :1: non executable command in pipeline stage 2"),
    ("{{3x}}", 'template: :1: bad number syntax: "3x"'),
    ('{{"abc}}', "template: :1: unterminated quoted string"),
    ("{{ ! }}", 'template: :1: unexpected "!" in command'),
    ("{{break}}", "template: :1: {{break}} outside {{range}}"),
    ("{{/* x */ }}", "template: :1: comment ends before closing delimiter"),
    ("a\n{{.B}}\n{{foo}}", 'template: :3: function "foo" not defined'),
    ("{{$x :}}", 'template: :1: undefined variable "$x"'),
])
def test_parse_errors_read_as_go(template, message):
    with pytest.raises(TemplateError) as err:
        Template(template)
    assert str(err.value) == message


def test_execution_errors_carry_line_and_column():
    with pytest.raises(TemplateError) as err:
        r("line1\n  {{nil}}", {})
    assert str(err.value) == 'template: :2:4: executing "" at <nil>: nil is not a command'


# -- tables ----------------------------------------------------------------------------------


def test_parse_table_matches_dockers_prefix_rule():
    assert parse_table("table {{.ID}}\t{{.Names}}") == (True, "{{.ID}}\t{{.Names}}")
    assert parse_table("{{.ID}} ") == (False, "{{.ID}}")
    assert parse_table("table") == (True, "")


def test_header_for_replaces_fields_with_headers():
    headers = {"ID": "CONTAINER ID", "Names": "NAMES"}
    assert header_for("{{.ID}}\t{{.Names}}\t{{.Status}}", headers) == \
        "CONTAINER ID\tNAMES\tSTATUS"
    # docker's header functions pass the header through; a method call takes its arguments.
    assert header_for('{{upper .Names}} {{json .ID}} {{.Label "x"}} {{truncate .ID 2}}', headers) \
        == "NAMES CONTAINER ID x CONTAINER ID"


def test_table_rows_render_per_row():
    rows = [{"ID": "a1", "Names": "web"}, {"ID": "b2", "Names": "db"}]
    is_table, body = parse_table("table {{.ID}}\t{{.Names}}")
    assert is_table
    assert [render(body, row) for row in rows] == ["a1\tweb", "b2\tdb"]


def test_header_keeps_what_was_written_before_an_error():
    # docker ignores the header's execution error and prints what was rendered up to it.
    assert header_for("{{.ID}} {{.ID.Sub}} {{.Names}}", {"ID": "CONTAINER ID"}) \
        == "CONTAINER ID "


def test_error_columns_count_bytes_and_name_the_last_node_evaluated():
    # Go's column is a byte offset, and a type error names the node evaluated last.
    with pytest.raises(TemplateError) as err:
        r('{{(print (truncate (not "héllo") 0) -3)}}', {})
    assert str(err.value) == ('template: :1:24: executing "" at <"héllo">: '
                              "wrong type for value; expected string; got bool")


def test_number_literal_errors_read_as_go():
    for template, message in [("{{09}}", 'integer overflow: "09"'),
                              ("{{0x1.8}}", 'illegal number syntax: "0x1.8"'),
                              ("{{1-a}}", 'bad number syntax: "1-a"')]:
        with pytest.raises(TemplateError) as err:
            Template(template)
        assert str(err.value) == "template: :1: " + message


def test_go_syntax_and_argument_indexes_in_printf():
    assert r('{{printf "%#v %#v" .A .M}}', {"A": ["x", None], "M": {"k": 1}}) == \
        '[]interface {}{"x", interface {}(nil)} map[string]interface {}{"k":1}'
    assert r('{{printf "%[2]s-%[1]s" "a" "b"}}', {}) == "b-a"


def test_compile_once_render_many():
    template = Template("{{.Name}}:{{len .Args}}")
    assert [template.execute({"Name": n, "Args": [1] * i}) for i, n in enumerate("ab")] \
        == ["a:0", "b:1"]


# -- strict evaluation: docker inspect's fallback over the raw JSON ----------------------------


def strict(template: str, data=CONTAINER) -> str:
    return Template(template).execute(data, strict=True)


def test_strict_missing_key_is_an_error():
    # docker inspect: template: :1:2: executing "" at <.Missing>: map has no entry for key "Missing"
    assert strict("{{.Name}} {{.State.Pid}}") == "/web 1234"
    for template, at, key in [("{{.Missing}}", "1:2", ".Missing"),
                              ("{{.State.Nope}}", "1:8", ".State.Nope")]:
        with pytest.raises(TemplateError) as err:
            strict(template)
        assert str(err.value) == (f'template: :{at}: executing "" at <{key}>: '
                                  f'map has no entry for key "{key.rsplit(".", 1)[1]}"')
    assert r("{{.Missing}}") == "<no value>"  # without strict, as before


def test_strict_field_of_null_and_of_a_scalar_read_as_go_over_interfaces():
    with pytest.raises(TemplateError) as err:
        strict("{{.State.Health.Status}}")
    assert str(err.value) == ('template: :1:8: executing "" at <.State.Health.Status>: '
                              "nil pointer evaluating interface {}.Status")
    with pytest.raises(TemplateError) as err:
        strict("{{.Name.X}}")
    # Decoded JSON holds every value below the top in an interface{}; Go names that type.
    assert str(err.value) == ('template: :1:7: executing "" at <.Name.X>: '
                              "can't evaluate field X in type interface {}")
    assert r("{{.State.Health.Status}}") == "<no value>"


def test_strict_still_allows_index_and_method_arguments_errors_come_first():
    assert strict('{{index .Config.Labels "nope"}}') == ""
    with pytest.raises(TemplateError, match="Nope is not a method but has arguments"):
        strict("{{.Nope 1}}")


# -- row objects: their JSON, their Go type, their methods --------------------------------------


class ContainerLikeRow:
    GO_TYPE = "*formatter.ContainerContext"
    Image = "nginx:<latest>"

    def Label(self, key):
        return {"a": "x<y"}.get(key, "")

    def as_dict(self):
        return {"Image": self.Image, "Labels": "a=x<y&b"}


def test_json_of_a_row_escapes_html_as_json_marshal_does():
    # A docker row's MarshalJSON uses json.Marshal (HTML escaping on); a field of the row goes
    # through the json function's own encoder, which has it off.
    row = ContainerLikeRow()
    row_json = '{"Image":"nginx:\\u003clatest\\u003e","Labels":"a=x\\u003cy\\u0026b"}'
    assert r("{{json .}}", row) == row_json
    assert r("{{json .}}", [row]) == f"[{row_json}]"
    assert r("{{json .Image}} {{json (.Label \"a\")}}", row) == '"nginx:<latest>" "x<y"'


def test_a_row_names_its_go_type_in_errors():
    with pytest.raises(TemplateError) as err:
        r("{{.Nope}}", ContainerLikeRow())
    assert str(err.value) == ('template: :1:2: executing "" at <.Nope>: '
                              "can't evaluate field Nope in type *formatter.ContainerContext")


def test_a_method_called_with_the_wrong_number_of_arguments_reads_as_go():
    with pytest.raises(TemplateError) as err:
        r("{{.Label}}", ContainerLikeRow())
    assert str(err.value) == ('template: :1:2: executing "" at <.Label>: '
                              "wrong number of args for Label: want 1 got 0")
    with pytest.raises(TemplateError, match="want 1 got 2"):
        r('{{"b" | .Label "a"}}', ContainerLikeRow())


def test_header_of_a_label_is_its_key_as_docker_names_it():
    # The last dotted part, "-" and "_" as spaces; functions pass it through in headers.
    assert header_for('{{.ID}}|{{.Label "com.example.my-label_x"}}|{{.Label "Com.Ex"}}|'
                      '{{.Label "a" | upper}}|{{.Labels}}', {"ID": "CONTAINER ID"}) \
        == "CONTAINER ID|my label x|Ex|a|LABELS"


# -- against Go itself -----------------------------------------------------------------------

_DOCKER = shutil.which("docker")

# Literal-only templates: docker renders them over its context list without a daemon.
_ORACLE_TEMPLATES = [
    '{{printf "%05s|%-5d|%+d|%x|%X|%o|%#x|%c|%q|%U" "ab" 3 4 255 255 8 255 65 65 65}}',
    '{{printf "%e|%.2e|%8.3f|%t|%s|%#v|%+q|%x|%#g" 1234.5678 1234.5678 3.14159 true 5 "x" "é"'
    ' 3.5 2.5}}',
    '{{printf "%[2]d %[1]s|%*d|%-*d|%.*f|%!|%" "a" 7 5 1 4 2 2 3.14159}}',
    '{{print 1234567.0 100000000.5 -0.0 0.000012 0.0001 1e20 123456.0}}',
    '{{printf "%q %q %#q" "a\\"b\\n" \'x\' "back`q"}}',
    '{{printf "%08.3f|%+.2f|% d|%05d|%-05d|%x" -3.14159 2.5 5 -42 7 -255}}',
    '{{printf "%T %T %T %T %T" 1 "a" 1.5 true nil}}',
    '{{json 1e21}} {{json 1e20}} {{json 0.0000001}} {{json "a<b>&"}}',
    '{{range $i, $e := split "a,b,c" ","}}{{if eq $i 1}}{{continue}}{{end}}{{$e}}{{end}}',
    '{{$x := 1}}{{if true}}{{$x := 2}}{{$x}}{{end}}{{$x}}',
    'a  {{- "b" -}}  c {{/* x */}}',
    '{{title "ünïcode wörds"}} {{upper "héllo"}} {{js "a\'b\\"c<d>&=é"}}',
    '{{index (split "a,b" ",") 2}}',
    '{{slice "abc" 2 1}}',
    '{{lt true false}}',
    '{{(1 2)}}',
    '{{range $a, $b, $c := 3}}{{end}}',
    '{{if 1}}{{else}}{{else}}{{end}}',
    '{{define "x"}}1{{end}}{{define "x"}}2{{end}}',
    '{{truncate "abc" 1.5}}',
    '{{(print (truncate (not "héllo") 0) -3)}}',
    '{{09}}', '{{0x1.8}}', '{{--1}}', '{{1e400}}', '{{.}}x{{',
    '{{and nil 1}}|{{html nil}}|{{join nil ","}}|{{printf "%v" nil}}',
    '{{with false}}a{{else with 3}}{{.}}{{end}}',
    '{{range $i, $e := split "a,b" ","}}{{else}}{{$i}}{{end}}',
    '{{$x := 1}}{{$x 1}}',
]


@pytest.mark.skipif(_DOCKER is None, reason="needs the docker CLI as a Go template oracle")
@pytest.mark.parametrize("template", _ORACLE_TEMPLATES)
def test_matches_go(template):
    proc = subprocess.run([_DOCKER, "context", "ls", "--format", template],
                          capture_output=True, text=True, timeout=30)
    # docker turns a typed "\t" and "\n" into a tab and a newline before parsing.
    template = template.replace("\\t", "\t").replace("\\n", "\n")
    if proc.returncode:
        expected = proc.stderr.strip().removeprefix("template parsing error: ")
        with pytest.raises(TemplateError) as err:
            r(template, {})
        assert str(err.value) == expected
    else:
        assert r(template, {}) + "\n" == proc.stdout


@pytest.mark.skipif(_DOCKER is None, reason="needs the docker CLI as an oracle")
def test_row_json_escaping_matches_docker(tmp_path):
    # docker context ls rows marshal like ps and images rows; a context needs no daemon.
    env = {"DOCKER_CONFIG": str(tmp_path), "PATH": "/usr/bin:/bin"}
    subprocess.run([_DOCKER, "context", "create", "tc", "--description", "<a&b>", "--docker",
                    "host=unix:///nonexistent.sock"], env=env, check=True, capture_output=True,
                   timeout=30)

    def docker(template: str) -> str:
        proc = subprocess.run([_DOCKER, "context", "ls", "--format", template], env=env,
                              check=True, capture_output=True, text=True, timeout=30)
        return [line for line in proc.stdout.splitlines() if "tc" in line or "<a" in line][0]

    row_json = docker("{{json .}}")

    class Row:
        Description = "<a&b>"

        def as_dict(self):
            import json
            return json.loads(row_json)

    assert "\\u003ca\\u0026b\\u003e" in row_json
    assert r("{{json .}}", Row()) == row_json
    assert r("{{json .Description}}", Row()) == docker("{{json .Description}}") == '"<a&b>"'
