"""Who sees what: the access file, principals, the role matrix, filters over frames, publishing a period."""

import shutil
from datetime import date, datetime

import pandas as pd
import pytest

from measures import access, local
from measures.access import AccessDenied, AccessFileError, Grant, Principal
from measures.store import Store
from tests.conftest import ROOT

EXAMPLE = ROOT / "data" / "access.example.yaml"
PERIOD = date(2026, 9, 1)


@pytest.fixture
def store(demo_db, tmp_path) -> Store:
    path = tmp_path / "access.duckdb"
    shutil.copy(demo_db, path)
    return Store(path)


@pytest.fixture(scope="module")
def directory(demo_db) -> access.Directory:
    return access.directory(Store(demo_db))


def grant(role, **scope) -> Grant:
    return Grant(role=role, **scope)


PRINCIPALS = {
    "open": access.OPEN,
    "no role": Principal("someone@example.nhs.uk"),
    "viewer UZ0001": Principal("v@example.nhs.uk", grants=(grant("viewer", pcns=["UZ0001"]),)),
    "editor UZ0001": Principal("e@example.nhs.uk", grants=(grant("editor", pcns=["UZ0001"]),)),
    "analyst QZZ": Principal("a@example.nhs.uk", grants=(grant("icb_analyst", icbs=["QZZ"]),)),
    "analyst QYY": Principal("b@example.nhs.uk", grants=(grant("icb_analyst", icbs=["QYY"]),)),
    "administrator": Principal("root@example.nhs.uk", grants=(grant("administrator"),)),
}

# who: (national data, UZ0001 local, UZ0002 local unpublished, UZ0002 local published, edit UZ0001,
#       edit UZ0002, administer)
MATRIX = {
    "open":          (True, True, True, True, True, True, True),
    "no role":       (True, False, False, True, False, False, False),
    "viewer UZ0001": (True, True, False, True, False, False, False),
    "editor UZ0001": (True, True, False, True, True, False, False),
    "analyst QZZ":   (True, True, True, True, False, False, False),
    "analyst QYY":   (True, False, False, True, False, False, False),
    "administrator": (True, True, True, True, True, True, True),
}


@pytest.mark.parametrize("who", list(MATRIX))
def test_the_role_matrix(who, directory):
    principal = PRINCIPALS[who]
    published = access.Directory(icb_of=directory.icb_of, memberships=directory.memberships,
                                 published=frozenset({("UZ0002", date(2026, 8, 1))}))
    frame = pd.DataFrame({"measure": ["acc_08", "int_mdt_case_reviews", "int_mdt_case_reviews",
                                      "int_mdt_case_reviews"],
                          "org": ["UZ0002", "UZ0001", "UZ0002", "UZ0002"],
                          "period_start": [PERIOD, PERIOD, PERIOD, date(2026, 8, 1)]})
    readable = tuple(access.readable_mask(frame, principal, published))
    assert readable == MATRIX[who][:4]
    assert access.can_read_local(principal, "UZ0001", PERIOD, published) == MATRIX[who][1]
    assert access.can_read_local(principal, "UZ0002", PERIOD, published) == MATRIX[who][2]
    assert access.can_read_local(principal, "UZ0002", date(2026, 8, 1), published) == MATRIX[who][3]
    assert access.can_edit(principal, "UZ0001") == MATRIX[who][4]
    assert access.can_edit(principal, "UZ0002") == MATRIX[who][5]
    assert access.can_administer(principal) == MATRIX[who][6]


@pytest.mark.parametrize("who", list(MATRIX))
def test_membership_reads_the_directory_only_when_the_principals_own_grants_do_not_answer(who, directory):
    reads = []

    def read_directory():
        reads.append(1)
        return directory

    principal = PRINCIPALS[who]
    assert access.member_of(principal, "UZ0001", read_directory) == MATRIX[who][1]
    # An administrator, the open demo and the PCN's own viewers and editors are answered by their grants.
    assert bool(reads) == (who in ("no role", "analyst QZZ", "analyst QYY"))


def test_refusals_say_who_may_and_what_the_principal_has(directory):
    viewer = PRINCIPALS["viewer UZ0001"]
    with pytest.raises(AccessDenied) as refused:
        access.require_local(viewer, "UZ0002", directory)
    text = str(refused.value)
    assert "v@example.nhs.uk may not read UZ0002's local values" in text
    assert "analysts of QZZ" in text and "Viewer of UZ0001" in text
    with pytest.raises(AccessDenied, match="only its editors and administrators"):
        access.require_edit(viewer, "UZ0001")
    with pytest.raises(AccessDenied, match="only administrators"):
        access.require_admin(PRINCIPALS["analyst QZZ"], "import published files")
    access.require_local(PRINCIPALS["analyst QZZ"], "UZ0002", directory)  # no exception


def test_practice_rows_follow_the_pcn_the_practice_belonged_to_at_the_time(directory):
    # Z00012 moved from UZ0004 to UZ0003 in March 2026 (the demo's dated hierarchy).
    frame = pd.DataFrame({"measure": ["ps_arrs_hours_per_1000_weighted"] * 2, "org": ["Z00012", "Z00012"],
                          "period_start": [date(2026, 1, 1), date(2026, 6, 1)]})
    assert list(access.pcn_of_rows(frame, directory)) == ["UZ0004", "UZ0003"]
    uz0003 = Principal("x@example.nhs.uk", grants=(grant("viewer", pcns=["UZ0003"]),))
    assert list(access.readable_mask(frame, uz0003, directory)) == [False, True]


def test_a_measure_defined_in_the_app_counts_as_local():
    assert not access.is_local_measure("acc_08")
    assert access.is_local_measure("int_mdt_case_reviews")
    assert access.is_local_measure("ps_funding_per_weighted_patient")
    assert access.is_local_measure("int_anything_defined_later")


def test_an_icb_average_of_a_local_measure_needs_every_peer_readable(directory):
    comparator = pd.DataFrame({"measure": ["acc_08", "int_mdt_case_reviews"], "period_start": [PERIOD, PERIOD],
                               "comparator": [80.0, 9.0], "comparator_org": ["QZZ", "QZZ"], "orgs": [12, 12]})
    viewer = PRINCIPALS["viewer UZ0001"]
    assert list(access.filter_comparator(comparator, viewer, "UZ0001", directory)["measure"]) == ["acc_08"]
    assert len(access.filter_comparator(comparator, PRINCIPALS["analyst QZZ"], "UZ0001", directory)) == 2
    everyone_published = access.Directory(
        icb_of=directory.icb_of, memberships=directory.memberships,
        published=frozenset((pcn, PERIOD) for pcn in directory.icb_of))
    assert len(access.filter_comparator(comparator, viewer, "UZ0001", everyone_published)) == 2


# --- the access file ---------------------------------------------------------------------------------------------


def test_the_example_access_file_is_valid_and_resolves_users_and_groups():
    config = access.parse_access(EXAMPLE)
    analyst = access.principal_for("Analyst@Example.NHS.uk", config)
    assert analyst.analyst_icbs == {"QZZ"} and analyst.identity == "analyst@example.nhs.uk"
    board = access.principal_from_claims({"email": "new@example.nhs.uk", "groups": ["uz0002-board"]}, config)
    assert board.viewer_pcns == {"UZ0002"} and board.editor_pcns == set()
    both = access.principal_from_claims({"email": "editor@example.nhs.uk", "groups": ["uz0002-managers"]}, config)
    assert both.editor_pcns == {"UZ0001", "UZ0002"}
    stranger = access.principal_from_claims({"email": "stranger@example.com"}, config)
    assert stranger.grants == () and not stranger.is_admin and not stranger.open


def test_an_unverified_email_gets_no_grants_by_email():
    config = access.parse_access(EXAMPLE)
    claims = {"email": "admin@example.nhs.uk", "email_verified": False}
    principal = access.principal_from_claims(claims, config)
    assert principal.identity == "admin@example.nhs.uk" and not principal.is_admin


@pytest.mark.parametrize("text, field, words", [
    ("users:\n  v@x.nhs.uk:\n    - role: viewer\n", "users.v@x.nhs.uk.0", "needs `pcns`"),
    ("users:\n  v@x.nhs.uk:\n    - role: viewer\n      pcns: [12345]\n", "users.v@x.nhs.uk.0.pcns", "U00254"),
    ("users:\n  v@x.nhs.uk:\n    - role: boss\n", "users.v@x.nhs.uk.0.role", "'viewer'"),
    ("users:\n  not-an-email:\n    - role: administrator\n", "users", "not one"),
    ("groups:\n  g:\n    - role: icb_analyst\n      pcns: [UZ0001]\n", "groups.g.0", "needs `icbs`"),
    ("groups:\n  g:\n    - role: administrator\n      icbs: [QZZ]\n", "groups.g.0", "no scope"),
    ("user:\n  v@x.nhs.uk: []\n", "user", "unknown field"),
])
def test_access_file_errors_name_the_file_and_field(tmp_path, text, field, words):
    path = tmp_path / "access.yaml"
    path.write_text(text)
    with pytest.raises(AccessFileError) as caught:
        access.parse_access(path)
    message = str(caught.value)
    assert str(path) in message and f"field '{field}'" in message and words in message, message


def test_every_problem_is_reported_at_once(tmp_path):
    path = tmp_path / "access.yaml"
    path.write_text("users:\n  a@x.nhs.uk:\n    - role: viewer\n  b@x.nhs.uk:\n    - role: editor\n      pcns: [X]\n")
    with pytest.raises(AccessFileError) as caught:
        access.parse_access(path)
    assert len(str(caught.value).splitlines()) == 2


def test_the_access_file_comes_from_pcn_access(tmp_path, monkeypatch):
    monkeypatch.setenv("PCN_ACCESS", "")
    assert access.access_path() is None and access.load_access() is None
    monkeypatch.setenv("PCN_ACCESS", str(tmp_path / "missing.yaml"))
    with pytest.raises(AccessFileError, match="no such access file"):
        access.access_path()
    path = tmp_path / "access.yaml"
    shutil.copy(EXAMPLE, path)
    monkeypatch.setenv("PCN_ACCESS", str(path))
    assert access.load_access().users["admin@example.nhs.uk"][0].role == "administrator"
    # A changed file is read again.
    path.write_text("users:\n  admin@example.nhs.uk:\n    - role: viewer\n      pcns: [UZ0009]\n")
    assert access.load_access().users["admin@example.nhs.uk"][0].pcns == ("UZ0009",)


def test_the_command_line_is_open_without_an_access_file_and_resolves_as_with_one(monkeypatch):
    assert access.cli_principal("anyone@example.nhs.uk", None) is access.OPEN
    config = access.parse_access(EXAMPLE)
    assert access.cli_principal("editor@example.nhs.uk", config).editor_pcns == {"UZ0001"}
    monkeypatch.setenv("PCN_USER", "admin@example.nhs.uk")
    assert access.cli_principal(None, config).is_admin
    monkeypatch.delenv("PCN_USER")
    nobody = access.cli_principal(None, config)
    assert nobody.identity is None and nobody.grants == () and not nobody.open


# --- publishing a period -----------------------------------------------------------------------------------------


def test_an_editor_publishes_a_period_and_others_then_read_it(store):
    editor, viewer = PRINCIPALS["editor UZ0001"], PRINCIPALS["viewer UZ0001"]
    outsider = Principal("o@example.nhs.uk", grants=(grant("viewer", pcns=["UZ0005"]),))
    assert PERIOD in local.local_periods(store, "UZ0001")
    assert not access.can_read_local(outsider, "UZ0001", PERIOD, access.directory(store))
    with pytest.raises(AccessDenied):
        local.publish_period(store, viewer, "UZ0001", PERIOD)
    with pytest.raises(AccessDenied):
        local.publish_period(store, PRINCIPALS["editor UZ0001"], "UZ0002", PERIOD)
    assert local.publish_period(store, editor, "UZ0001", PERIOD) is True
    assert local.publish_period(store, editor, "UZ0001", PERIOD) is False  # already published
    directory = access.directory(store)
    assert access.can_read_local(outsider, "UZ0001", PERIOD, directory)
    assert not access.can_read_local(outsider, "UZ0001", date(2026, 8, 1), directory)
    held = local.published_periods(store, "UZ0001")
    assert held["published_by"].tolist() == ["e@example.nhs.uk"]
    assert local.withdraw_period(store, editor, "UZ0001", PERIOD) is True
    assert not access.can_read_local(outsider, "UZ0001", PERIOD, access.directory(store))
    log = access.access_log(store)
    assert log["action"].tolist() == ["withdraw", "publish"]
    assert set(log["actor"]) == {"e@example.nhs.uk"}


def test_a_line_of_the_access_log_leaves_the_data_and_every_cache_as_they_were(store):
    store.publish()
    version, copy = store.data_version(), store.publication()
    viewer = PRINCIPALS["viewer UZ0001"]
    access.log_event(store, viewer, "sign_in", None, viewer.roles_text, at=datetime(2026, 11, 2, 9, 0))
    access.log_event(store, viewer, "refused", "UZ0002 local values", "by URL", at=datetime(2026, 11, 2, 9, 1))
    access.log_event(store, "cli user", "export", "pack.pdf", via="cli", at=datetime(2026, 11, 2, 9, 2))
    assert store.data_version() == version, "a log line must not empty every session's caches"
    assert store.publication() == copy, "nor publish a new copy of the store"
    assert local.publish_period(store, PRINCIPALS["editor UZ0001"], "UZ0001", PERIOD) is True
    assert store.data_version() != version, "publishing a period is a change of what others read"
    log = access.access_log(store)
    assert log[["action", "kept_in"]].values.tolist() == [
        ["publish", "store"], ["export", "access log file"], ["refused", "access log file"],
        ["sign_in", "access log file"]]
    assert access.access_log(store, 2)["action"].tolist() == ["publish", "export"]
    assert access.access_log(store, action="refused", actor=viewer.actor)["target"].tolist() == ["UZ0002 local values"]
    assert access.access_log(store, since=datetime(2026, 11, 2, 9, 1), action="sign_in").empty


def test_sessions_signing_in_at_once_each_get_their_line_and_readers_never_fail(store):
    from concurrent.futures import ThreadPoolExecutor

    def sign_in(n: int) -> bool:  # each app session is a thread of one process
        return access.log_event(store, f"user{n}@example.nhs.uk", "sign_in", None, "viewer")

    def read(_: int) -> int:
        return len(access.access_log(store, 1000))

    with ThreadPoolExecutor(max_workers=6) as pool:  # writes and reads interleaved
        futures = [pool.submit(sign_in if n % 3 else read, n) for n in range(36)]
        done = [future.result() for future in futures]
    written = [result for n, result in enumerate(done) if n % 3]
    assert len(written) == 24 and all(result is True for result in written)
    assert all(0 <= result <= 24 for n, result in enumerate(done) if not n % 3)
    actors = access.access_log(store, 1000, action="sign_in")["actor"]
    assert sorted(actors) == sorted(f"user{n}@example.nhs.uk" for n in range(36) if n % 3)
    assert actors.is_unique


def test_log_event_appends_and_never_raises(store, tmp_path):
    access.log_event(store, PRINCIPALS["viewer UZ0001"], "refused", "UZ0002 local values", "by URL")
    access.log_event(store, "cli user", "export", "pack.pdf", via="cli")
    log = access.access_log(store)
    assert log[["actor", "action", "via"]].values.tolist() == [["cli user", "export", "cli"],
                                                               ["v@example.nhs.uk", "refused", "app"]]
    access.log_event(Store(tmp_path / "no" / "such" / "dir" / "x.duckdb" / "y"), "x", "export")  # logged, not raised
