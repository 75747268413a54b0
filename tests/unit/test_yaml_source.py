"""Reading rule-file YAML: lines remembered, words kept as written, hostile files refused."""
from __future__ import annotations

from datetime import date

import pytest
import yaml

from loyalty.engine.yaml_source import (
    MAX_BYTES,
    ListNode,
    MapNode,
    ScalarNode,
    UnreadableSource,
    read_yaml,
    read_yaml_bytes,
)


def refusal(text: str | bytes) -> tuple[int | None, str]:
    """The single (line, message) a refused text gets."""
    with pytest.raises(UnreadableSource) as refused:
        read_yaml_bytes(text) if isinstance(text, bytes) else read_yaml(text)
    (problem,) = refused.value.problems
    return problem.line, problem.message


def test_every_key_and_value_remembers_its_line():
    root = read_yaml("programme: a\n\nrules:\n  - id: r1\n    on: daily\n")
    assert isinstance(root, MapNode)
    assert root.key_line("programme") == 1 and root.key_line("rules") == 3
    rules = root.get("rules")
    assert isinstance(rules, ListNode)
    rule = rules.items[0]
    assert isinstance(rule, MapNode) and rule.line == 4
    assert rule.get("on") == ScalarNode("daily", 5)


def test_yaml_words_like_on_and_yes_stay_words_when_they_are_keys():
    root = read_yaml("on: anniversary\nyes: 1\n")
    assert isinstance(root, MapNode)
    assert list(root.entries) == ["on", "yes"]


def test_values_keep_their_yaml_types():
    root = read_yaml("a: 1_000_000\nb: false\nc: 2026-01-31\nd:\ne: '24'\n")
    assert isinstance(root, MapNode)
    values = {key: entry.value.value for key, entry in root.entries.items()}
    assert values == {"a": 1_000_000, "b": False, "c": date(2026, 1, 31), "d": None, "e": "24"}


def test_vietnamese_text_round_trips_unchanged():
    name = "Tri ân khách hàng thân thiết — Giỏ quà tri ân"
    root = read_yaml_bytes(f'name: "{name}"\n'.encode("utf-8"))
    assert isinstance(root, MapNode) and root.get("name") == ScalarNode(name, 1)


def test_a_byte_order_mark_from_a_windows_editor_is_accepted():
    root = read_yaml_bytes("\ufeffname: Chào mừng\n".encode("utf-8"))
    assert isinstance(root, MapNode) and root.get("name") == ScalarNode("Chào mừng", 1)


def test_an_impossible_date_stays_text_so_the_rule_reader_can_say_so():
    root = read_yaml("from: 2026-02-30\n")
    assert isinstance(root, MapNode) and root.get("from") == ScalarNode("2026-02-30", 1)


def test_a_python_object_tag_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "pwned"
    line, message = refusal(f'programme: x\nname: !!python/object/apply:os.system ["touch {marker}"]\n')
    assert line == 2
    assert "'!!python/object/apply:os.system'" in message and "never tags that build objects" in message
    assert not marker.exists()


def test_a_local_tag_is_refused_too():
    line, message = refusal("programme: x\nname: !vip gold\n")
    assert (line, "'!vip'" in message) == (2, True)


def test_a_billion_laughs_file_is_refused_at_its_first_alias():
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for number in range(1, 9):
        previous, current = chr(ord("a") + number - 1), chr(ord("a") + number)
        lines.append(f"{current}: &{current} [{', '.join(['*' + previous] * 9)}]")
    line, message = refusal("\n".join(lines) + "\n")
    assert line == 2
    assert "alias '*a'" in message and "aliases and anchors are not allowed" in message


def test_a_file_over_one_megabyte_is_refused_without_being_parsed():
    two_megabytes = b"# " + b"x" * (2 * 1024 * 1024) + b"\n: : : not yaml ["
    line, message = refusal(two_megabytes)
    assert line is None
    assert f"{len(two_megabytes):,} bytes" in message and "at most 1 MB" in message


def test_a_file_of_exactly_one_megabyte_is_read():
    text = b"name: x\n" + b"#" * (MAX_BYTES - 9) + b"\n"
    assert len(text) == MAX_BYTES
    assert isinstance(read_yaml_bytes(text), MapNode)


def test_forty_levels_of_nesting_are_refused():
    line, message = refusal("when: " + "[" * 40 + "]" * 40 + "\n")
    assert line == 1 and "nested more than 32 levels deep" in message


def test_thirty_two_levels_of_nesting_are_read():
    root = read_yaml("[" * 31 + "1" + "]" * 31 + "\n")
    depth = 0
    while isinstance(root, ListNode):
        root, depth = root.items[0], depth + 1
    assert (depth, root) == (31, ScalarNode(1, 1))


def test_a_syntax_error_is_reported_with_its_line():
    line, message = refusal("programme: x\nrules:\n  - id: [r1\n    on: daily\n")
    assert line == 4 and message.startswith("the YAML is not well-formed")


def test_a_tab_used_for_indenting_is_a_syntax_error_with_its_line():
    line, message = refusal("programme: x\nrules:\n\t- id: r1\n")
    assert line == 3 and "not well-formed" in message


def test_a_key_written_twice_names_both_lines():
    line, message = refusal("programme: x\nname: A\nname: B\n")
    assert (line, message) == (3, "the key 'name' is written twice (also line 2)")


@pytest.mark.parametrize("odd_break", ["\x85", "\u2028", "\u2029", "\r"])
@pytest.mark.parametrize("parser", ["libyaml", "pure python"])
def test_lines_are_counted_as_an_editor_shows_them_not_at_yaml_only_line_breaks(monkeypatch, odd_break, parser):
    # YAML breaks lines at NEL, the Unicode line/paragraph separators and a lone CR too; an editor
    # (and so a marketer reading "line 3") only at "\n".
    if parser == "pure python":
        monkeypatch.setattr("loyalty.engine.yaml_source._PARSER", yaml.SafeLoader)
    text = f"programme: x\nname: 'a{odd_break}b'\nrules: 'c{odd_break}{odd_break}d'\nname: B\n"
    assert refusal(text) == (4, "the key 'name' is written twice (also line 2)")
    root = read_yaml(f"a: 'x{odd_break}y'\nb: 1\n")
    assert isinstance(root, MapNode) and root.key_line("b") == 2
    line, message = refusal(f"a: 'x{odd_break}y'\nb: [1\n")
    assert line == 3 and "not well-formed" in message


def test_windows_line_ends_count_once():
    assert refusal("programme: x\r\nname: A\r\nname: B\r\n") == (3, "the key 'name' is written twice (also line 2)")


def test_two_documents_in_one_file_are_refused():
    line, message = refusal("programme: a\n---\nprogramme: b\n")
    assert (line, message) == (2, "the file holds a second YAML document at line 2; keep one per file")


def test_an_empty_file_is_refused():
    assert refusal("# only a comment\n") == (None, "the file is empty")


def test_a_file_that_is_not_utf8_is_refused():
    line, message = refusal("name: Tri ân\n".encode("cp1258"))
    assert line is None and "not UTF-8" in message


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("a: &a [1]\nb: *a\n", 2, "aliases and anchors are not allowed"),
        ("a: !!python/object/apply:os.system ['true']\n", 1, "never tags that build objects"),
        ("a: " + "[" * 40 + "]" * 40 + "\n", 1, "nested more than 32 levels deep"),
        ("a: [1\n", 2, "not well-formed"),
        ("a: 1\na: 2\n", 2, "written twice"),
    ],
)
def test_without_libyaml_the_pure_python_parser_refuses_the_same_files(monkeypatch, text, line, words):
    monkeypatch.setattr("loyalty.engine.yaml_source._PARSER", yaml.SafeLoader)
    found_line, message = refusal(text)
    assert found_line == line and words in message


def test_without_libyaml_the_pure_python_parser_reads_the_same_tree(monkeypatch):
    text = "on: anniversary\nwhen: {all: [{tenure_months: {gte: 24}}]}\nfrom: 2026-01-01\n"
    with_libyaml = read_yaml(text)
    monkeypatch.setattr("loyalty.engine.yaml_source._PARSER", yaml.SafeLoader)
    assert read_yaml(text) == with_libyaml
