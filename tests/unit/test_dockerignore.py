""".dockerignore patterns with Docker's semantics (moby/patternmatcher)."""

from __future__ import annotations

from hako.build.dockerignore import parse


def excluded(rules_text: str, *paths: str) -> list[bool]:
    rules = parse(rules_text)
    return [rules.excluded(p) for p in paths]


def test_star_stays_in_one_directory():
    assert excluded("*.log", "a.log", "dir/a.log") == [True, False]
    assert excluded("*/*.log", "a.log", "dir/a.log", "d/e/a.log") == [False, True, False]


def test_double_star_crosses_directories():
    assert excluded("**/*.log", "a.log", "d/a.log", "d/e/a.log", "a.txt") == [True, True, True, False]
    assert excluded("a/**/b", "a/b", "a/x/b", "a/x/y/b", "b") == [True, True, True, False]
    assert excluded("**", "anything/at/all") == [True]


def test_a_matching_directory_excludes_what_is_under_it():
    assert excluded("node_modules", "node_modules", "node_modules/x/y.js", "src/node_modules") == [True, True, False]


def test_exceptions_and_last_match_wins():
    rules = "*.md\n!README.md\n"
    assert excluded(rules, "a.md", "README.md") == [True, False]
    assert excluded("*.md\n!README*.md\nREADME-secret.md\n", "README-secret.md", "README-x.md") == [True, False]
    assert parse("!a\n").has_exceptions


def test_comments_blank_lines_leading_slash_and_cleaning():
    rules = "# comment\n\n/build\n./dist/\ntmp/../cache\n"
    assert excluded(rules, "build", "build/x", "dist/y", "cache", "# comment") == [True, True, True, True, False]


def test_question_mark_classes_and_escapes():
    assert excluded("file?.txt", "file1.txt", "file12.txt", "file/.txt") == [True, False, False]
    assert excluded("[ab].txt", "a.txt", "c.txt") == [True, False]
    assert excluded("[^ab].txt", "a.txt", "c.txt") == [False, True]
    assert excluded("\\*.txt", "*.txt", "a.txt") == [True, False]


def test_empty_rules_exclude_nothing():
    rules = parse("")
    assert not rules
    assert rules.excluded("x") is False
