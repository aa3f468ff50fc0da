"""The README documents what the code offers: every command and option, every page, every setting."""

import argparse
import re

import pytest

from measures import cli, suppression
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def commands() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    (subparsers,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(subparsers.choices)


def command_rows() -> dict[str, str]:
    rows = re.findall(r"^\| `([a-z-]+)([^`]*)` \|", README, flags=re.MULTILINE)
    return {name: rest for name, rest in rows}


@pytest.mark.parametrize("name", sorted(commands()))
def test_every_command_has_a_row_in_the_command_line_table(name):
    assert name in command_rows(), f"README's command table has no row for `{name}`"


@pytest.mark.parametrize("name,option", [(name, option) for name, parser in sorted(commands().items())
                                         for action in parser._actions for option in action.option_strings
                                         if option.startswith("--") and option != "--help"])
def test_every_option_of_every_command_is_in_its_row(name, option):
    assert option in command_rows().get(name, ""), f"README's row for `{name}` does not mention {option}"


def test_every_page_of_the_app_is_in_the_pages_table():
    app = (ROOT / "app.py").read_text(encoding="utf-8")
    pages = re.findall(r'title="([^"]+)".*url_path="([a-z]+)"', app)
    assert len(pages) == 7
    for title, path in pages:
        assert re.search(rf"^\| {re.escape(title)} \| `/", README, flags=re.MULTILINE), f"no row for {title}"


SOURCES = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "measures").rglob("*.py"))


@pytest.mark.parametrize("variable", sorted({
    *re.findall(r'environ(?:\.get)?\(\s*"(PCN_[A-Z_]+)"', SOURCES),
    *re.findall(r'^[A-Z_]+ = "(PCN_[A-Z_]+)"', SOURCES, flags=re.MULTILINE),  # settings named by a constant
    suppression.ENV_VAR}))
def test_every_setting_read_from_the_environment_is_documented(variable):
    assert variable in README, f"README does not mention ${variable}"
