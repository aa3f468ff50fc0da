"""Hostile catalogue files are refused with a message naming the file and the field: never a traceback, never a hang."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import yaml

from measures.catalogue import CatalogueError, load_catalogue, parse_measure
from tests.conftest import ROOT
from tests.test_catalogue import _valid as valid


GOOD = yaml.safe_dump(valid(), sort_keys=False)


def laughs(levels: int, field: str) -> str:
    """The "billion laughs": each anchor names nine copies of the one before; `field` takes the last."""
    lines = ['lol0: &lol0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels + 1):
        lines.append(f"lol{level}: &lol{level} [" + ", ".join([f"*lol{level - 1}"] * 9) + "]")
    return "\n".join(lines) + f"\n{field}: *lol{levels}\n"


def bomb_in(field: str) -> str:
    """A valid file whose `field` lists anchors each naming nine copies of the one before: nine to the ninth values."""
    body = {k: v for k, v in valid().items() if k != field}
    return (yaml.safe_dump(body, sort_keys=False)
            + f"{field}:\n  - &lol0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
            + "".join(f"  - &lol{n} [" + ", ".join([f"*lol{n - 1}"] * 9) + "]\n" for n in range(1, 9)))


def with_field(name: str, text: str) -> str:
    return GOOD + f"{name}: {text}\n"


def replacing(name: str, text: str) -> str:
    body = {k: v for k, v in valid().items() if k != name}
    return yaml.safe_dump(body, sort_keys=False) + f"{name}: {text}\n"


# Every field of the schema given a value of the wrong type: (field, YAML text, the field the message names).
WRONG_TYPES = [
    ("version", "one", "version"), ("version", "true", "version"), ("version", "1.5", "version"),
    ("name", "12345", "name"), ("name", "[a, b]", "name"), ("short_name", "{a: b}", "short_name"),
    ("code", "[ACC]", "code"), ("description", "2024-01-01", "description"), ("family", "7", "family"),
    ("level", "[]", "level"), ("type", "true", "type"), ("numerator", "Things", "numerator"),
    ("denominator", "5", "denominator"), ("unit", "[per, 1000]", "unit"), ("multiplier", "lots", "multiplier"),
    ("multiplier", "true", "multiplier"), ("multiplier", ".inf", "multiplier"), ("multiplier", ".nan", "multiplier"),
    ("multiplier", "1e300", "multiplier"), ("decimals", "2.5", "decimals"), ("decimals", "false", "decimals"),
    ("improvement_direction", "1", "improvement_direction"), ("frequency", "weekly", "frequency"),
    ("thresholds", "soon", "thresholds"),
    ("thresholds", "[{financial_year: '2023/24', lower: .nan, upper: 3}]", "thresholds.0.lower"),
    ("thresholds", "[{financial_year: '2023/24', lower: 1, upper: .inf}]", "thresholds.0.upper"),
    ("thresholds", "[{financial_year: '2023/24', lower: true, upper: 3}]", "thresholds.0.lower"),
    ("targets", "[{financial_year: '2023/24', value: .nan}]", "targets.0.value"),
    ("targets", "5", "targets"), ("fair_share", "1", "fair_share"),
    ("suppress_small_numbers", "maybe", "suppress_small_numbers"), ("tags", "[1, 2]", "tags.0"),
    ("source", "NHS", "source"), ("caveats", "{a: b}", "caveats"), ("scope", "42", "scope"), ("status", "[]", "status"),
]

LONG = "x" * 100_000

CASES = {
    "an alias bomb in a field": ("bomb_tags", bomb_in("tags"), "line", "alias *lol0"),
    "an alias bomb in the id": ("bomb_id", laughs(9, "id"), "line 2", "alias *lol0"),
    "an alias bomb under an unknown field": ("bomb_extra", GOOD + laughs(9, "extra"), "alias"),
    "a recursive alias": ("recursive", GOOD + "caveats: &loop [*loop]\n", "line", "alias *loop"),
    "a file over 1 MB": ("huge", GOOD + "caveats:\n" + "  - a caveat of about forty characters each\n" * 30_000,
                         "over 1,024 KB"),
    "lists nested 100,000 deep": ("deep", GOOD + "caveats: " + "[" * 100_000 + "]" * 100_000 + "\n",
                                  "nested more than 20 deep"),
    "a list instead of a mapping": ("a_list", "- name: one\n- name: two\n", "mapping", "got a list"),
    "a scalar instead of a mapping": ("a_scalar", "just a sentence\n", "mapping", "got a line of text"),
    "a number instead of a mapping": ("a_number", "42\n", "mapping", "got a number"),
    "an empty file": ("empty", "", "mapping", "got nothing"),
    "a number as a key": ("int_key", GOOD + "1: one\n", "the key '1' is not a field name"),
    "null as a key": ("null_key", GOOD + "null: nothing\n", "the key 'null' is not a field name"),
    "a list as a key": ("list_key", GOOD + "? [a, b]\n: x\n", "is not a field name"),
    "a nested number key": ("nested_key", replacing("numerator", "{definition: Things that happened, 7: x}"),
                            "field 'numerator'", "the key '7' is not a field name"),
    "a python object tag": ("py_object", GOOD + "x: !!python/object:os.system ['ls']\n", "field 'x'",
                            "python/object:os.system", "is not allowed"),
    "a python name tag": ("py_name", replacing("name", "!!python/name:os.system"), "field 'name'", "is not allowed"),
    "a python apply tag in a list": ("py_apply", GOOD + "caveats: [!!python/object/apply:os.system [ls]]\n",
                                     "field 'caveats.0'", "is not allowed"),
    "a custom tag": ("custom_tag", replacing("description", "!include other.yaml"), "field 'description'",
                     "'!include' is not allowed"),
    "a binary tag": ("binary_tag", replacing("unit", "!!binary aGVsbG8="), "field 'unit'", "is not allowed"),
    "a field given twice": ("twice", GOOD + "name: Another name\n", "field 'name'", "given twice"),
    "an id with a hyphen": ("Bad-Id", GOOD, "field 'id'", "'Bad-Id'", "rename the file"),
    "an id with a space": ("has space", GOOD, "field 'id'", "rename the file"),
    "an id with a dot": ("has.dot", GOOD, "field 'id'", "rename the file"),
    "an id with accents": ("caf\u00e9", GOOD, "field 'id'", "rename the file"),
    "an id of 200 characters": ("m" * 200, GOOD, "field 'id'", "1 to 64"),
    "a very long name": ("long_name", replacing("name", LONG), "field 'name'", "at most 200"),
    "a very long description": ("long_description", replacing("description", LONG), "field 'description'",
                                "at most 2000"),
    "a very long short name": ("long_short", replacing("short_name", LONG), "field 'short_name'", "at most 60"),
    "a very long unit": ("long_unit", replacing("unit", LONG), "field 'unit'", "at most 80"),
    "a very long caveat": ("long_caveat", with_field("caveats", f"[{LONG}]"), "field 'caveats.0'", "at most 1000"),
    "a very long tag": ("long_tag", with_field("tags", f"[{LONG}]"), "field 'tags.0'", "at most 60"),
    "a very long definition": ("long_definition", replacing("numerator", f"{{definition: {LONG}}}"),
                               "field 'numerator.definition'", "at most 2000"),
    "a very long scope": ("long_scope", replacing("scope", LONG), "field 'scope'", "at most 8"),
    "a very long unknown field": ("long_key", GOOD + f"? {LONG}\n: x\n", "unknown field", "x" * 60),
    "a thousand unknown fields": ("many_keys", GOOD + "".join(f"extra_{n}: x\n" for n in range(1000)),
                                  "extra_0", "… and 980 more problems"),
    "a long financial year": ("long_year", with_field("targets", f"[{{financial_year: '{LONG}', value: 1}}]"),
                              "field 'targets.0.financial_year'", "(100,000 characters)"),
    "not UTF-8": ("utf16", GOOD.encode("utf-16"), "is not UTF-8 text"),
    "two documents": ("two_docs", GOOD + "---\n" + GOOD, "not valid YAML"),
} | {f"{field} as {text}": (f"wrong_{index}", replacing(field, text), f"field '{named}'")
     for index, (field, text, named) in enumerate(WRONG_TYPES)}


@pytest.mark.parametrize("case", list(CASES))
def test_a_hostile_file_is_refused_naming_the_file_and_the_field(tmp_path, case):
    stem, content, *fragments = CASES[case]
    path = tmp_path / f"{stem}.yaml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    started = time.perf_counter()
    with pytest.raises(CatalogueError) as raised:
        parse_measure(path)
    assert time.perf_counter() - started < 5, "a hostile file must be refused quickly"
    message = str(raised.value)
    assert message.startswith(path.name[:100]), message[:300]
    for fragment in fragments:
        assert fragment in message, message[:600]
    assert len(message) < 3000, "the message stays readable"


def test_a_parser_crashing_nesting_does_not_kill_the_process(tmp_path):
    """libyaml's composer recurses once per level: a million levels crash the interpreter unless refused first."""
    path = tmp_path / "deep.yaml"
    path.write_text(GOOD + "caveats: " + "[" * 499_000 + "]" * 499_000 + "\n", encoding="utf-8")
    code = ("import sys; from measures.catalogue import parse_measure, CatalogueError\n"
            "try:\n    parse_measure(sys.argv[1])\nexcept CatalogueError as exc:\n    print(exc)\n")
    result = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, cwd=ROOT,
                            timeout=60)
    assert result.returncode == 0, f"crashed with {result.returncode}: {result.stderr[-300:]}"
    assert "deep.yaml: line 17: lists and mappings are nested more than 20 deep" in result.stdout


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_a_file_that_is_a_device_is_refused_unread(tmp_path):
    path = tmp_path / "endless.yaml"
    path.symlink_to("/dev/zero")
    started = time.perf_counter()
    with pytest.raises(CatalogueError) as raised:
        parse_measure(path)
    assert time.perf_counter() - started < 5
    assert str(raised.value) == "endless.yaml: is not a regular file; a catalogue file is a YAML text file"


def test_a_folder_of_hostile_files_reports_each_by_name(tmp_path):
    (tmp_path / "fine.yaml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "bomb.yaml").write_text(laughs(9, "id"), encoding="utf-8")
    (tmp_path / "tagged.yaml").write_text(GOOD + "x: !!python/object:os.system ['ls']\n", encoding="utf-8")
    with pytest.raises(CatalogueError) as raised:
        load_catalogue(tmp_path)
    lines = str(raised.value).splitlines()
    assert [line.split(":")[0] for line in lines] == ["bomb.yaml", "tagged.yaml"]


def test_the_shipped_catalogue_loads_within_the_limits():
    assert len(load_catalogue()) >= 30


def test_a_measure_defined_in_the_app_meets_the_same_length_limits():
    from measures import local

    fields = {"id": "int_long_named", "name": "N" * 300, "description": "A measure with a very long name.",
              "family": "local_integration", "level": "pcn", "type": "count", "numerator": "Things counted",
              "unit": "things", "improvement_direction": "increase", "scope": "UZ0001"}
    with pytest.raises(local.DefinitionError) as raised:
        local.measure_from_form(fields)
    assert raised.value.errors == {"name": "String should have at most 200 characters"}
