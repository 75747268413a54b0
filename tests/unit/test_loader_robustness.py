"""Whatever marketing types, the loader answers with a ruleset or located problems, never a crash."""
from __future__ import annotations

from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalty.engine.loader import load_ruleset_from_texts
from loyalty.engine.model import Ruleset
from loyalty.errors import RulesetInvalid

SHIPPED = Path(__file__).resolve().parents[2] / "rules"
FILES = {path.name: path.read_text(encoding="utf-8") for path in sorted(SHIPPED.glob("*.yaml"))}
PROGRAMMES = sorted(name for name in FILES if name != "rewards.yaml")

WORDS = st.sampled_from(
    ["", "x", "0", "-1", "true", "null", "[]", "{}", "P12M", "2026-02-30", "tenure_months", "gte",
     "anniversary", "sme", "'quoted'", ": :", "[", "- a", "Giỏ quà", "*a", "&a", "!!python/name:os.system"]
)


def _answer(files: dict[str, str]) -> Ruleset | RulesetInvalid:
    try:
        return load_ruleset_from_texts(files)
    except RulesetInvalid as invalid:
        return invalid


def _assert_located(answer: Ruleset | RulesetInvalid, files: dict[str, str]) -> None:
    if isinstance(answer, Ruleset):
        return
    assert answer.problems
    for problem in answer.problems:
        assert problem.file in files and problem.message
        assert problem.line is None or 1 <= problem.line <= files[problem.file].count("\n") + 1


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(PROGRAMMES),
    data=st.data(),
)
def test_a_shipped_file_with_one_line_changed_loads_or_is_refused_with_located_problems(name, data):
    lines = FILES[name].splitlines()
    index = data.draw(st.integers(0, len(lines) - 1), label="line")
    before, _, after = lines[index].partition(":")
    replacement = data.draw(
        st.one_of(
            st.just(""),
            WORDS.map(lambda word: f"{before}: {word}" if after else word),
            WORDS.map(lambda word: f"{word}:{after}"),
        ),
        label="replacement",
    )
    text = "\n".join(lines[:index] + [replacement] + lines[index + 1 :]) + "\n"
    files = {**FILES, name: text}
    _assert_located(_answer(files), files)


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.text(max_size=12), st.dates())
KEYS = st.sampled_from(
    ["programme", "name", "rules", "id", "on", "when", "then", "all", "any", "not", "points", "per", "of",
     "tenure_months", "segment", "eq", "in", "between", "goodwill", "valid", "from", "rewards", "kind", "x"]
)
TREES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5),
                     max_leaves=25)


@settings(max_examples=150, deadline=None)
@given(programme=TREES, catalogue=TREES)
def test_any_yaml_shape_loads_or_is_refused_with_located_problems(programme, catalogue):
    files = {
        "a.yaml": yaml.safe_dump(programme, allow_unicode=True),
        "rewards.yaml": yaml.safe_dump(catalogue, allow_unicode=True),
    }
    _assert_located(_answer(files), files)
