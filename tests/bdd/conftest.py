"""Steps every feature may share. Feature-specific steps live in their own `test_*_feature.py`.

Given: the shipped programmes (fixture `ruleset`).
"""
from __future__ import annotations

from pathlib import Path

from pytest_bdd import given

from loyalty.engine.loader import load_ruleset
from loyalty.engine.model import Ruleset

SHIPPED_RULES = Path(__file__).resolve().parents[2] / "rules"


# Given


@given("the programmes shipped with the engine", target_fixture="ruleset")
def the_shipped_programmes() -> Ruleset:
    return load_ruleset(SHIPPED_RULES)
