"""`loyalty rules check` and `loyalty rules show`, as marketing runs them."""
from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from loyalty.cli import main
from loyalty.engine.loader import load_ruleset

SHIPPED = Path(__file__).resolve().parents[2] / "rules"
GOOD = """\
programme: loyal-thanks
name: "Tri ân khách hàng thân thiết"
budget: {points: 5000000, per: year}
rules:
  - id: second-anniversary-sme
    on: anniversary
    when:
      all:
        - tenure_months: {gte: 24}
        - segment: {in: [sme, enterprise]}
    then:
      points: 500
      expires_after: P12M
    once_per: year
    group: anniversary-gift
    priority: 10
"""


def run(*arguments: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, ["rules", *arguments], env=env)


def test_check_on_the_shipped_rules_says_ok_with_counts_and_version():
    result = run("check", str(SHIPPED))
    ruleset = load_ruleset(SHIPPED)
    assert result.exit_code == 0, result.output
    assert result.output == (
        f"rules OK: {len(ruleset.programmes)} programmes, {len(ruleset.rules)} rules, "
        f"{len(ruleset.rewards)} rewards, version {ruleset.version[:12]}\n"
    )


def test_check_reads_the_rules_directory_from_the_environment_by_default(tmp_path):
    (tmp_path / "thanks.yaml").write_text(GOOD, encoding="utf-8")
    result = run("check", env={"LOYALTY_RULES_DIR": str(tmp_path)})
    assert result.exit_code == 0, result.output
    assert result.output.startswith("rules OK: 1 programme, 1 rule, 0 rewards, version ")


def test_check_prints_every_problem_with_file_line_and_rule_and_exits_1(tmp_path):
    (tmp_path / "anniversary.yaml").write_text(
        GOOD.replace("tenure_months", "tenur_months").replace("once_per: year", "once_per: yaer"), encoding="utf-8"
    )
    (tmp_path / "broken.yaml").write_text("programme: x\nname: [\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["rules", "check", str(tmp_path)])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[:2] == [
        "anniversary.yaml:9 [rule second-anniversary-sme]: unknown fact 'tenur_months'; did you mean 'tenure_months'?",
        "anniversary.yaml:14 [rule second-anniversary-sme]: 'once_per': 'yaer' is not a period; did you mean 'year'?",
    ]
    assert lines[2].startswith("broken.yaml:3: the YAML is not well-formed")
    assert "rules refused: 3 problems in 2 files" in result.stderr


def test_check_of_a_directory_that_does_not_exist_exits_1(tmp_path):
    result = run("check", str(tmp_path / "nowhere"))
    assert result.exit_code == 1
    assert "there is no rules directory here" in result.output


def test_check_with_too_many_arguments_is_bad_usage():
    assert run("check", "a", "b").exit_code == 2


def test_show_lists_programmes_rules_conditions_and_awards_in_vietnamese(tmp_path):
    (tmp_path / "thanks.yaml").write_text(GOOD, encoding="utf-8")
    result = run("show", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "loyal-thanks — Tri ân khách hàng thân thiết  (thanks.yaml:1)" in result.output
    assert "budget: 5,000,000 points a year" in result.output
    assert "  - second-anniversary-sme  on anniversary  once per year  group anniversary-gift priority 10" in result.output
    assert "      when tenure_months ≥ 24 and segment in [sme, enterprise]" in result.output
    assert "      then 500 points; expiring after P12M" in result.output


def test_show_on_the_shipped_rules_lists_every_rule_and_reward():
    result = run("show", str(SHIPPED))
    ruleset = load_ruleset(SHIPPED)
    assert result.exit_code == 0, result.output
    assert all(f"  - {rule.id}  on {rule.on}" in result.output for rule in ruleset.rules)
    assert "thank-you-hamper  Giỏ quà tri ân  (gift, 3,000 points, stock 500)" in result.output
    assert "then goodwill 50,000 VND a day after the first day, at most 1,000,000" in result.output


def test_show_refuses_a_broken_directory_the_same_way_check_does(tmp_path):
    (tmp_path / "a.yaml").write_text(GOOD.replace("on: anniversary", "on: birthday"), encoding="utf-8")
    result = run("show", str(tmp_path))
    assert result.exit_code == 1
    assert "a.yaml:6 [rule second-anniversary-sme]: 'on': 'birthday' is not an event" in result.output
