"""Identity-token claims of an unexpected shape grant nothing, and the sign-in says (and logs) what was ignored."""


import pytest

from measures import access
from measures.store import Store
from tests import apptest
from tests.conftest import ROOT

EXAMPLE = ROOT / "data" / "access.example.yaml"
STRANGER = "someone@example.nhs.uk"  # no grants by email in the example file: only groups can give them roles
ADMIN = "admin@example.nhs.uk"
EDITOR = "editor@example.nhs.uk"  # Editor of UZ0001 by email


def roles(*described: str) -> set[str]:
    return set(described)


# claims, the roles they give, and a phrase of what is reported as ignored (None: nothing ignored)
CLAIM_SHAPES = {
    "a list of groups grants each group's roles":
        ({"email": STRANGER, "groups": ["uz0002-board", "uz0002-managers"]},
         roles("Viewer of UZ0002", "Editor of UZ0002"), None),
    "an empty list of groups grants nothing and is no problem":
        ({"email": STRANGER, "groups": []}, roles(), None),
    "no groups claim at all is no problem":
        ({"email": STRANGER}, roles(), None),
    "a group name inside a longer string is not that group":
        ({"email": STRANGER, "groups": "Friends of uz0002-managers"}, roles(), "is a string ('Friends of"),
    "a string holding one group's exact name is still not a list":
        ({"email": STRANGER, "groups": "uz0002-managers"}, roles(), "not a list of group names"),
    "a comma-separated string is not split into groups":
        ({"email": STRANGER, "groups": "uz0002-board,uz0002-managers"}, roles(), "is a string"),
    "a number grants nothing by group":
        ({"email": STRANGER, "groups": 42}, roles(), "is a number (42)"),
    "an object of group names grants nothing by group":
        ({"email": STRANGER, "groups": {"uz0002-managers": True}}, roles(), "is an object"),
    "a null groups claim grants nothing by group":
        ({"email": STRANGER, "groups": None}, roles(), "is null"),
    "a boolean groups claim grants nothing by group":
        ({"email": STRANGER, "groups": True}, roles(), "is the boolean true"),
    "items that are not strings are dropped and the strings kept":
        ({"email": STRANGER, "groups": ["uz0002-board", 7, {"name": "uz0002-managers"}]},
         roles("Viewer of UZ0002"), "2 items that are not group names"),
    "a nested list is not a group name":
        ({"email": STRANGER, "groups": [["uz0002-managers"]]}, roles(), "1 item that is not a group name"),
    "a verified email (the boolean true) gives the email's roles":
        ({"email": ADMIN, "email_verified": True}, roles("Administrator"), None),
    "no email_verified claim leaves the email's roles (the provider does not say otherwise)":
        ({"email": ADMIN}, roles("Administrator"), None),
    "email_verified false gives no roles by email":
        ({"email": ADMIN, "email_verified": False}, roles(), "`email_verified` is the boolean false"),
    "email_verified as the string false gives no roles by email":
        ({"email": ADMIN, "email_verified": "false"}, roles(), "`email_verified` is a string ('false')"),
    "email_verified as the string true is not true":
        ({"email": ADMIN, "email_verified": "true"}, roles(), "`email_verified` is a string ('true')"),
    "email_verified 0 gives no roles by email":
        ({"email": ADMIN, "email_verified": 0}, roles(), "`email_verified` is a number (0)"),
    "email_verified 1 is not true":
        ({"email": ADMIN, "email_verified": 1}, roles(), "`email_verified` is a number (1)"),
    "email_verified as the string 0 gives no roles by email":
        ({"email": ADMIN, "email_verified": "0"}, roles(), "`email_verified` is a string ('0')"),
    "email_verified null gives no roles by email":
        ({"email": ADMIN, "email_verified": None}, roles(), "`email_verified` is null"),
    "an unverified email keeps the roles its groups give":
        ({"email": EDITOR, "email_verified": "false", "groups": ["uz0002-board"]}, roles("Viewer of UZ0002"),
         "no role was given by the email address editor@example.nhs.uk"),
    "a verified email and a string of groups give the email's roles only":
        ({"email": EDITOR, "email_verified": True, "groups": "uz0002-managers"}, roles("Editor of UZ0001"),
         "no role was given by group"),
    "an email claim that is not text gives no roles by email":
        ({"email": [ADMIN]}, roles(), "the `email` claim is a list"),
}


@pytest.fixture(scope="module")
def config() -> access.AccessFile:
    return access.parse_access(EXAMPLE)


@pytest.mark.parametrize("claims, expected, ignored", CLAIM_SHAPES.values(), ids=CLAIM_SHAPES.keys())
def test_a_claim_gives_roles_only_in_the_shape_the_access_rules_expect(config, claims, expected, ignored):
    who = access.principal_from_claims(claims, config)
    assert {grant.describe() for grant in who.grants} == expected
    if ignored is None:
        assert who.claim_problems == ()
        assert "ignored" not in who.roles_text
    else:
        assert any(ignored in problem for problem in who.claim_problems), who.claim_problems
        assert ignored in who.roles_text  # shown beside the roles, and logged with the sign-in


def test_an_unverified_email_still_names_who_signed_in(config):
    who = access.principal_from_claims({"email": "Admin@Example.NHS.uk", "email_verified": "false"}, config)
    assert who.identity == "admin@example.nhs.uk" and not who.is_admin and not who.open


def test_the_groups_claim_the_access_file_names_is_the_one_checked():
    config = access.parse_access("inline.yaml", "groups_claim: roles\ngroups:\n  uz0002-board:\n"
                                                "    - role: viewer\n      pcns: [UZ0002]\n")
    listed = access.principal_from_claims({"email": STRANGER, "roles": ["uz0002-board"]}, config)
    assert listed.viewer_pcns == {"UZ0002"} and listed.claim_problems == ()
    spaced = access.principal_from_claims({"email": STRANGER, "roles": "uz0002-board other"}, config)
    assert spaced.grants == () and "the `roles` claim is a string" in spaced.roles_text


# --- in the app -----------------------------------------------------------------------------------------------


@pytest.fixture
def db(access_db) -> Store:
    """A private copy of the demo (sign-ins and refusals are logged), with the example access file."""
    return access_db


def _texts(elements) -> str:
    """The shown text, without the backslashes that keep claim values from being read as Markdown."""
    return "\n".join(str(element.value) for element in elements).replace("\\", "")


def test_in_the_app_a_string_groups_claim_grants_nothing_and_the_sign_in_log_says_why(db):
    claims = {"groups": "Friends of uz0002-managers"}
    at = apptest.open_app("pages/local_measures.py", pcn="UZ0002", email=STRANGER, claims=claims)
    sidebar = _texts(at.sidebar.markdown)
    assert "no role: national data and published local values only" in sidebar
    assert "the `groups` claim is a string ('Friends of uz0002-managers')" in sidebar
    assert "Not shown to you" in _texts(at.error)  # neither editor nor viewer of UZ0002
    assert not at.tabs and not at.data_editor
    sign_ins = access.access_log(db).query("action == 'sign_in' and actor == @STRANGER")
    assert len(sign_ins) >= 1
    assert all("not a list of group names" in detail for detail in sign_ins["detail"])


def test_in_the_app_email_verified_as_a_string_gives_no_administrator_role(db):
    at = apptest.open_app("pages/pcn_overview.py", pcn="UZ0002", email=ADMIN, claims={"email_verified": "true"})
    assert "Not shown to you" in _texts(at.error)
    assert "`email_verified` is a string ('true'), not true" in _texts(at.sidebar.markdown)
    assert not [label for label in (b.label for b in at.sidebar.button) if "access log" in label.lower()]
