"""A whole rules directory: files, catalogue, ids unique across files, every problem at once, version."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ruletexts import named, only_problem, problems, rule_file

from loyalty.engine.loader import load_ruleset, load_ruleset_from_texts
from loyalty.engine.model import RewardItem, SourceRef
from loyalty.errors import RulesetInvalid

A_RULE = "on: anniversary\nthen: {points: 10}"
CATALOGUE = """\
rewards:
  - id: thank-you-hamper
    name: {vi: "Giỏ quà tri ân", en: "Thank-you hamper"}
    kind: gift
    points_cost: 3000
    stock: 500
  - id: bill-credit-100k
    name: {vi: "Giảm 100.000đ hóa đơn"}
    kind: bill_credit
    points_cost: 1000
    value: 100000
    per_customer_limit: 3
"""


def programme(programme_id: str, rule_id: str, body: str = A_RULE) -> str:
    return rule_file(body, rule_id).replace("programme: thanks", f"programme: {programme_id}")


def write(directory, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = directory / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))


def test_a_directory_loads_the_same_ruleset_as_its_texts(tmp_path):
    files = {"b.yaml": programme("b", "b1"), "a.yml": programme("a", "a1"), "rewards.yaml": CATALOGUE}
    write(tmp_path, {**files, "README.md": "not a rule file", ".draft.yaml": "::: broken"})
    (tmp_path / "archive").mkdir()
    write(tmp_path / "archive", {"old.yaml": "::: broken"})
    assert load_ruleset(tmp_path) == load_ruleset_from_texts(files)
    assert [p.id for p in load_ruleset(tmp_path).programmes] == ["a", "b"]


def test_the_reward_catalogue_is_loaded_with_its_vietnamese_names():
    ruleset = load_ruleset_from_texts({"rewards.yaml": CATALOGUE})
    assert ruleset.programmes == ()
    assert ruleset.rewards == (
        RewardItem("thank-you-hamper", {"vi": "Giỏ quà tri ân", "en": "Thank-you hamper"}, "gift", 3000,
                   SourceRef("rewards.yaml", 2), stock=500),
        RewardItem("bill-credit-100k", {"vi": "Giảm 100.000đ hóa đơn"}, "bill_credit", 1000,
                   SourceRef("rewards.yaml", 7), per_customer_limit=3, value=100000),
    )
    assert ruleset.reward("thank-you-hamper").names["vi"] == "Giỏ quà tri ân"


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        ("{vi: \"Giỏ quà tri ân\", en: \"Thank-you hamper\"}", "{en: Hamper}", 3,
         "'name' needs a Vietnamese name under 'vi'"),
        ("kind: gift", "kind: gif", 4, "'kind': 'gif' is not a kind of reward; did you mean 'gift'?"),
        ("points_cost: 3000", "points_cost: 0", 5, "'points_cost' should be more than 0, got 0"),
        ("stock: 500", "stock: -1", 6, "'stock' should be at least 0, got -1"),
        ("stock: 500", "stok: 500", 6, "unknown key 'stok' in the reward; did you mean 'stock'?"),
        ("    value: 100000\n", "", 7, "a bill_credit reward needs 'value': the amount in VND taken off the bill"),
        ("id: bill-credit-100k", "id: thank-you-hamper", 7,
         "the reward id 'thank-you-hamper' is already used at rewards.yaml:2"),
    ],
)
def test_a_mistake_in_the_catalogue_is_reported_at_its_line(old, new, line, message):
    problem = only_problem(extra={"rewards.yaml": CATALOGUE.replace(old, new, 1)})
    assert (problem.file, problem.line, problem.rule_id, problem.message) == ("rewards.yaml", line, None, message)


def test_a_rule_may_grant_a_reward_from_the_catalogue():
    ruleset = load_ruleset_from_texts(named(
        programme("p", "r1", "on: anniversary\nthen: {reward: thank-you-hamper}"), extra={"rewards.yaml": CATALOGUE}
    ))
    assert ruleset.rules[0].then.reward == "thank-you-hamper"


def test_a_reward_missing_from_the_catalogue_is_reported_with_a_close_match():
    problem = only_problem(
        programme("p", "r1", "on: anniversary\nthen: {points: 1, reward: thank-you-hamperr}"),
        extra={"rewards.yaml": CATALOGUE},
    )
    assert (problem.file, problem.line, problem.rule_id, problem.message) == (
        "a.yaml", 6, "r1", "the reward 'thank-you-hamperr' is not in the reward catalogue; did you mean 'thank-you-hamper'?"
    )


def test_two_rules_with_one_id_name_both_places():
    problem = only_problem(programme("p", "hai-nam"), programme("q", "hai-nam"))
    assert (problem.file, problem.line, problem.rule_id, problem.message) == (
        "b.yaml", 4, "hai-nam",
        "the rule id 'hai-nam' is already used at a.yaml:4; each rule id must be unique across all files",
    )


def test_two_programmes_with_one_id_name_both_places():
    problem = only_problem(programme("p", "r1"), programme("p", "r2"))
    assert (problem.file, problem.line, problem.message) == (
        "b.yaml", 1, "the programme id 'p' is already used at a.yaml:1; each programme id must be unique across all files"
    )


def test_every_problem_in_every_file_is_reported_at_once_in_file_and_line_order():
    found = problems(
        programme("p", "r1", "on: anniversery\nthen: {points: 10}\nwhen: {tenur_months: {gte: 24}}"),
        "programme: q\nname: [x\n",
        programme("r", "r1", A_RULE + "\nprioriti: 2"),
        extra={"rewards.yaml": CATALOGUE.replace("kind: gift", "kind: gif")},
    )
    expected = [
        ("a.yaml", 5, "r1", "'on': 'anniversery' is not an event"),
        ("a.yaml", 7, "r1", "unknown fact 'tenur_months'"),
        ("b.yaml", 3, None, "the YAML is not well-formed"),
        ("c.yaml", 4, "r1", "the rule id 'r1' is already used at a.yaml:4"),
        ("c.yaml", 7, "r1", "unknown key 'prioriti' in the rule"),
        ("rewards.yaml", 4, None, "'kind': 'gif' is not a kind of reward"),
    ]
    assert [(p.file, p.line, p.rule_id) for p in found] == [e[:3] for e in expected]
    assert all(p.message.startswith(e[3]) for p, e in zip(found, expected))


def test_hostile_files_are_refused_alongside_ordinary_mistakes(tmp_path, monkeypatch):
    write(tmp_path, {
        "big.yaml": b"# " + b"x" * (2 * 1024 * 1024),
        "bomb.yaml": "a: &a [1, 2]\nb: [*a, *a]\n",
        "evil.yaml": "programme: !!python/object/apply:os.system ['echo pwned']\n",
        "deep.yaml": "x: " + "{a: " * 40 + "1" + "}" * 40 + "\n",
        "ok.yaml": programme("ok", "r1"),
    })
    monkeypatch.setattr("pathlib.Path.read_bytes", _refuse_to_read_big(tmp_path / "big.yaml"))
    with pytest.raises(RulesetInvalid) as refused:
        load_ruleset(tmp_path)
    found = {p.file: p.message for p in refused.value.problems}
    assert set(found) == {"big.yaml", "bomb.yaml", "evil.yaml", "deep.yaml"}
    assert "at most 1 MB, so it was not read" in found["big.yaml"]
    assert "aliases and anchors are not allowed" in found["bomb.yaml"]
    assert "'!!python/object/apply:os.system'" in found["evil.yaml"]
    assert "nested more than 32 levels deep" in found["deep.yaml"]


def _refuse_to_read_big(big):
    original = Path.read_bytes

    def read_bytes(path):
        assert path != big, "a file over 1 MB must not be read"
        return original(path)

    return read_bytes


def test_a_missing_directory_is_a_problem_not_a_crash(tmp_path):
    with pytest.raises(RulesetInvalid) as refused:
        load_ruleset(tmp_path / "nowhere")
    assert refused.value.problems[0].message == "there is no rules directory here"


def test_the_version_is_a_full_sha256_that_does_not_depend_on_the_order_files_are_given():
    files = named(programme("p", "r1"), programme("q", "r2"), extra={"rewards.yaml": CATALOGUE})
    version = load_ruleset_from_texts(files).version
    assert len(version) == 64 and int(version, 16) >= 0
    assert load_ruleset_from_texts(dict(reversed(list(files.items())))).version == version


def test_the_version_changes_when_any_file_changes_even_only_a_comment():
    files = named(programme("p", "r1"), extra={"rewards.yaml": CATALOGUE})
    version = load_ruleset_from_texts(files).version
    assert load_ruleset_from_texts({**files, "a.yaml": files["a.yaml"] + "# note\n"}).version != version
    assert load_ruleset_from_texts({**files, "rewards.yaml": CATALOGUE.replace("3000", "3500")}).version != version
    assert load_ruleset_from_texts({"b.yaml": files["a.yaml"], "rewards.yaml": CATALOGUE}).version != version


def test_the_version_of_a_directory_is_stable_across_loads(tmp_path):
    write(tmp_path, named(programme("p", "r1"), extra={"rewards.yaml": CATALOGUE}))
    assert load_ruleset(tmp_path).version == load_ruleset(tmp_path).version


VIETNAMESE = st.text(
    alphabet="aăâbcdđeêghiklmnoôơpqrstuưvxyàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ"
    "AĂÂĐÊÔƠƯ 0123456789-,.!?",
    min_size=1,
    max_size=60,
).filter(lambda text: text.strip())


@settings(max_examples=100, deadline=None)
@given(name=VIETNAMESE, description=VIETNAMESE)
def test_any_vietnamese_name_and_description_round_trip_unchanged(name, description):
    text = programme("p", "r1", f"description: {json.dumps(description, ensure_ascii=False)}\n{A_RULE}")
    text = text.replace('"Tri ân khách hàng"', json.dumps(name, ensure_ascii=False))
    ruleset = load_ruleset_from_texts({"a.yaml": text})
    assert ruleset.programmes[0].name == name
    assert ruleset.rules[0].description == description
