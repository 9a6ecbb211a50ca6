"""The Dockerfile parser and Docker's word processing (quotes, escapes, substitution)."""

from __future__ import annotations

import pytest

from hako.build.dockerfile import ParseError, parse
from hako.build.shellwords import process_word, process_words, split_words
from hako.errdefs import InvalidArgument


def only_stage(text):
    df = parse(text)
    assert len(df.stages) == 1
    return df.stages[0]


def test_every_instruction_is_recognised_case_insensitively():
    text = """\
from busybox
run echo hi
CMD ["sh"]
LABEL a=b
MAINTAINER me
EXPOSE 80
ENV A=1
ADD a /a
COPY b /b
ENTRYPOINT ["x"]
VOLUME /v
USER 1
WORKDIR /w
ARG X=1
ONBUILD RUN true
STOPSIGNAL SIGTERM
HEALTHCHECK NONE
SHELL ["/bin/sh", "-c"]
"""
    stage = only_stage(text)
    assert stage.base == "busybox"
    assert [i.cmd for i in stage.instructions] == [
        "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME", "USER",
        "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL"]
    assert [i.line for i in stage.instructions][:3] == [2, 3, 4]
    assert stage.instructions[1].json_args == ["sh"]
    assert stage.instructions[0].json_args is None and stage.instructions[0].args == "echo hi"


def test_unknown_instruction_names_its_line():
    with pytest.raises(ParseError) as exc:
        parse("FROM busybox\nRUN true\nfoo bar\n")
    assert str(exc.value) == "dockerfile parse error on line 3: unknown instruction: FOO"


def test_continuations_comments_and_blank_lines_inside():
    stage = only_stage("FROM busybox\nRUN echo a \\\n  # a comment\n\n  && echo b\nCMD x\n")
    run = stage.instructions[0]
    assert run.args == "echo a   && echo b"
    assert run.line == 2
    assert stage.instructions[1].line == 6


def test_escape_directive_and_windows_style_continuation():
    df = parse("# escape=`\nFROM busybox\nRUN echo a `\n b\nCOPY c:\\x \\y\n")
    assert df.escape == "`"
    assert df.stages[0].instructions[0].args == "echo a  b"
    assert df.stages[0].instructions[1].args == "c:\\x \\y"


def test_syntax_directive_and_directives_only_at_the_top():
    df = parse("# syntax=docker/dockerfile:1\nFROM busybox\n# escape=`\nRUN echo \\\n hi\n")
    assert df.syntax == "docker/dockerfile:1"
    assert df.escape == "\\"
    assert df.stages[0].instructions[0].args == "echo  hi"
    with pytest.raises(ParseError, match="invalid escape token"):
        parse("# escape=x\nFROM busybox\n")


def test_escaped_escape_at_the_end_is_not_a_continuation():
    stage = only_stage("FROM busybox\nRUN echo \\\\\nCMD x\n")
    assert stage.instructions[0].args == "echo \\\\"
    assert stage.instructions[1].cmd == "CMD"


def test_stages_meta_args_and_names():
    df = parse("ARG V=1\nFROM busybox:$V AS Build\nRUN x\nFROM build\nCOPY --from=build /a /b\n")
    assert [a.args for a in df.meta_args] == ["V=1"]
    assert [(s.base, s.name, s.index) for s in df.stages] == [("busybox:$V", "build", 0), ("build", "", 1)]
    assert df.stages[1].instructions[0].flags == {"from": "build"}


def test_stage_errors():
    with pytest.raises(ParseError, match="line 1: no build stage in current context"):
        parse("RUN x\nFROM busybox\n")
    with pytest.raises(ParseError, match="duplicate name a"):
        parse("FROM busybox AS a\nFROM busybox AS A\n")
    with pytest.raises(ParseError, match="FROM requires either one or three arguments"):
        parse("FROM a b\n")
    with pytest.raises(InvalidArgument, match="cannot be empty"):
        parse("# only a comment\n\n")


def test_flags_and_their_errors():
    copy = only_stage("FROM b\nCOPY --chown=1:2 --chmod=755 a b\n").instructions[0]
    assert copy.flags == {"chown": "1:2", "chmod": "755"}
    assert copy.args == "a b"
    assert only_stage("FROM --platform=linux/amd64 b\n").platform == "linux/amd64"
    with pytest.raises(ParseError, match="line 2: unknown flag: bogus"):
        parse("FROM b\nCOPY --bogus=1 a b\n")
    with pytest.raises(ParseError, match="requires BuildKit"):
        parse("FROM b\nRUN --mount=type=cache,target=/x true\n")
    with pytest.raises(ParseError, match="line 2: COPY --parents is not supported by hako's builder"):
        parse("FROM b\nCOPY --parents a/b /c/\n")
    assert only_stage("FROM b\nCOPY --link a /b\n").instructions[0].flags == {"link": True}


def test_argument_count_errors():
    for text, message in (("FROM b\nRUN\n", "line 2: RUN requires at least one argument"),
                          ("FROM b\nCOPY a\n", "line 2: COPY requires at least two arguments"),
                          ("FROM b\nSHELL /bin/sh\n", "SHELL requires the arguments to be in JSON form"),
                          ("FROM b\nONBUILD FROM x\n", "FROM isn't allowed as an ONBUILD trigger"),
                          ("FROM b\nSTOPSIGNAL A B\n", "STOPSIGNAL requires exactly one argument")):
        with pytest.raises(ParseError, match=message):
            parse(text)


def test_json_form_falls_back_to_shell_form_when_not_a_string_list():
    stage = only_stage('FROM b\nCMD ["a", 1]\nRUN [not json\n')
    assert stage.instructions[0].json_args is None
    assert stage.instructions[1].json_args is None


def test_heredocs():
    stage = only_stage("FROM b\nRUN <<EOF\necho one\necho two\nEOF\nCOPY <<-'X' /f\n\tliteral $A\n\tX\nCMD y\n")
    run, copy, cmd = stage.instructions
    assert run.heredocs[0].name == "EOF" and run.heredocs[0].content == "echo one\necho two\n"
    assert run.heredocs[0].expand
    assert copy.heredocs[0].content == "literal $A\n" and not copy.heredocs[0].expand
    assert cmd.cmd == "CMD" and cmd.line == 9
    with pytest.raises(ParseError, match="unterminated heredoc"):
        parse("FROM b\nRUN <<EOF\necho\n")


def test_substitution_forms():
    env = {"A": "a", "EMPTY": ""}
    assert process_word("$A ${A} x${A}y", env) == "a a xay"
    assert process_word("${NOPE:-d} ${EMPTY:-d} ${EMPTY-d} ${NOPE-d}", env) == "d d  d"
    assert process_word("${A:+alt} ${EMPTY:+alt} ${EMPTY+alt} ${NOPE+alt}", env) == "alt  alt "
    assert process_word("${NOPE:-${A}-nested}", env) == "a-nested"
    assert process_word("$NOPE|$", env) == "|$"
    with pytest.raises(InvalidArgument, match="NOPE: must be set"):
        process_word("${NOPE:?must be set}", env)


def test_quotes_and_escapes():
    env = {"A": "x y"}
    assert process_word("'$A'", env) == "$A"
    assert process_word('"$A"', env) == "x y"
    assert process_word('\\$A', env) == "$A"
    assert process_word('"a\\"b"', env) == 'a"b'
    assert process_word("a\\ b", env) == "a b"
    assert process_word("`$A", env, escape="`") == "$A"
    with pytest.raises(InvalidArgument, match="double-quote"):
        process_word('"open', env)


def test_words_split_before_expansion():
    assert split_words('a "b c" d\\ e') == ["a", '"b c"', "d\\ e"]
    assert process_words("$A 'b c' z", {"A": "1 2"}) == ["1 2", "b c", "z"]
