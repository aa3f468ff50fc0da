"""Signing in for real: an OIDC provider and `streamlit run` on 127.0.0.1, Chromium through the whole sign-in."""

import json
import re
import secrets
import shutil
import subprocess
import sys

import pytest
from playwright.sync_api import expect

from measures import access
from measures.store import Store
from tests.browser import free_port, serve_app, settled, stop, visit, wait_until_up

pytestmark = pytest.mark.browser

VIEWER = "viewer@example.nhs.uk"  # viewer of UZ0001, granted by email
ANALYST = "analyst@example.nhs.uk"  # ICB analyst of QZZ, granted through an identity-provider group

# The identity tokens the provider issues: `name` and `email` as Entra ID sends them, `groups` when configured.
USERS = [
    {"sub": VIEWER, "email": VIEWER, "email_verified": True, "name": "UZ0001 viewer"},
    {"sub": ANALYST, "email": ANALYST, "email_verified": True, "name": "QZZ analyst", "groups": ["qzz-analysts"]},
]
ACCESS_FILE = f"""\
version: 1
users:
  {VIEWER}:
    - role: viewer
      pcns: [UZ0001]
groups:
  qzz-analysts:
    - role: icb_analyst
      icbs: [QZZ]
"""
INTEGRATION_CARD = "MDT case reviews"  # a local integration measure every demo PCN records
PRACTICE_CARD = "Funding per weighted patient"  # money the PCN passed to each practice: a local value
NATIONAL_CARD = "Booked within 2 weeks (monthly)"  # the annual IIF figure is its own card


@pytest.fixture(scope="module")
def provider(tmp_path_factory):
    """oidc-provider-mock on 127.0.0.1: any client id and secret; the users above, chosen by typing their subject."""
    log = tmp_path_factory.mktemp("oidc") / "provider.log"
    port = free_port()
    users = [arg for user in USERS for arg in ("--user-claims", json.dumps(user))]
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1",
                                    "--port", str(port), *users], stdout=out, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base}/.well-known/openid-configuration", process, "oidc-provider-mock", log)
        yield base
    finally:
        stop(process)


@pytest.fixture(scope="module")
def app(provider, demo_db, tmp_path_factory):
    """The app with `[auth]` pointing at the provider, from a secrets file outside the repository."""
    folder = tmp_path_factory.mktemp("signin")
    db = folder / "app.duckdb"
    shutil.copy(demo_db, db)  # a private copy: sign-ins and refusals are written to its access log
    (folder / "access.yaml").write_text(ACCESS_FILE)
    (folder / "secrets.toml").write_text(
        "[auth]\n"
        'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'  # Streamlit fills in the port it serves on
        f'cookie_secret = "{secrets.token_hex(32)}"\n'
        'client_id = "pcn-dashboard"\n'
        'client_secret = "not-a-real-secret"\n'
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n')
    served = serve_app(db, extra_env={"PCN_ACCESS": str(folder / "access.yaml")},
                       extra_args=["--secrets.files", str(folder / "secrets.toml")])
    try:
        yield next(served), Store(db)
    finally:
        served.close()  # stops the server


def sign_in(tab, url: str, subject: str) -> None:
    """Open the app, press Sign in, and sign in at the provider as `subject`."""
    visit(tab, url)
    expect(tab.get_by_role("heading", name="PCN dashboard")).to_be_visible()
    expect(tab.get_by_text("Sign in with your organisation's account")).to_be_visible()
    assert tab.locator('[data-testid="stMetric"]').count() == 0
    tab.get_by_role("button", name="Sign in").click()  # the script's st.login() leaves for the provider's form
    expect(tab.get_by_role("heading", name="Authorize Client")).to_be_visible()
    assert tab.url.startswith("http://127.0.0.1:")
    tab.get_by_placeholder("sub").fill(subject)
    tab.get_by_role("button", name="Authorize").click()  # back through /oauth2callback to the app
    back_in_app(tab, url)
    expect(tab.locator('[data-testid="stSidebar"]').get_by_text("Signed in as")).to_be_visible()


def sign_out(tab) -> None:
    """Press Sign out, confirm at the provider's end-session page, and land on the sign-in page."""
    app_url = re.match(r"http://127\.0\.0\.1:\d+", tab.url).group(0)
    tab.get_by_role("button", name="Sign out").click()  # the script's st.logout() leaves for the provider
    tab.get_by_role("button", name="End session").click()
    back_in_app(tab, app_url)
    expect(tab.get_by_role("button", name="Sign in")).to_be_visible()


def back_in_app(tab, url: str) -> None:
    """Wait for the provider to send the browser back to the app at `url`, and for the app's script run there."""
    expect(tab).to_have_url(re.compile("^" + re.escape(url) + r"(/(?!oauth2callback)|$)"))
    settled(tab)


def open_url(tab, url: str) -> None:
    visit(tab, url)
    expect(tab.get_by_role("heading", level=1).first).to_be_visible()
    expect(tab.locator('[data-testid="stSidebar"]').get_by_text("Signed in as")).to_be_visible()


def card_value(tab, label: str):
    """The value shown on the Overview card with this label, or None when no such card is shown."""
    cards = tab.locator('[data-testid="stMetric"]').filter(has_text=label)
    if not cards.count():
        return None
    return cards.first.locator('[data-testid="stMetricValue"]').inner_text()


def open_board_pack(tab):
    sidebar = tab.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("Board pack", exact=True).click()
    settled(tab)
    return sidebar


def log_rows(store: Store, actor: str) -> list[tuple]:
    rows = access.access_log(store, actor=actor)[["action", "target", "detail"]].iloc[::-1]
    return list(rows.itertuples(index=False, name=None))


def test_a_pcn_viewer_signs_in_sees_their_pcn_is_refused_another_by_url_and_signs_out(app, tab):
    url, store = app
    sign_in(tab, url, VIEWER)
    sidebar = tab.locator('[data-testid="stSidebar"]')
    expect(sidebar).to_contain_text(f"Signed in as UZ0001 viewer ({VIEWER})")
    expect(sidebar).to_contain_text("Viewer of UZ0001")

    # Signing in lands on the viewer's own PCN; its Overview shows its local values in both local families.
    expect(tab).to_have_url(re.compile(r"pcn=UZ0001"))
    open_url(tab, f"{url}/overview?pcn=UZ0001")
    expect(tab.get_by_role("heading", name="Integration (set locally)")).to_be_visible()
    expect(tab.get_by_role("heading", name="Support for practices")).to_be_visible()
    expect(tab.locator('[data-testid="stMetric"]').filter(has_text=INTEGRATION_CARD)).to_be_visible()
    assert card_value(tab, INTEGRATION_CARD) not in (None, "No data")
    assert card_value(tab, PRACTICE_CARD) not in (None, "No data")
    assert not tab.get_by_text("Not shown to you").count()
    expect(open_board_pack(tab).get_by_role("button", name=re.compile("Download board pack"))).to_be_visible()

    # Another PCN by URL: the Local measures page refuses it and shows none of its values.
    open_url(tab, f"{url}/local?pcn=UZ0002")
    expect(tab.get_by_role("heading", name="Local measures")).to_be_visible()
    expect(tab.get_by_text("Not shown to you: Millbrook PCN (UZ0002)")).to_be_visible()
    expect(tab.get_by_role("tab")).to_have_count(0)
    expect(tab.locator('[data-testid="stDataFrame"]')).to_have_count(0)

    # Its Overview: national data yes, unpublished local values no, and no board pack to download.
    open_url(tab, f"{url}/overview?pcn=UZ0002")
    expect(tab.get_by_role("heading", name="Millbrook PCN")).to_be_visible()
    expect(tab.get_by_text("Not shown to you")).to_be_visible()
    expect(tab.locator('[data-testid="stMetric"]').filter(has_text=NATIONAL_CARD)).to_be_visible()
    assert card_value(tab, INTEGRATION_CARD) is None and card_value(tab, PRACTICE_CARD) is None
    sidebar = open_board_pack(tab)
    expect(sidebar.get_by_text("Board packs of Millbrook PCN are for its own viewers")).to_be_visible()
    expect(sidebar.get_by_role("button", name=re.compile("Download board pack|Summary"))).to_have_count(0)

    sign_out(tab)
    visit(tab, f"{url}/overview?pcn=UZ0001")  # the cookie is gone: the app asks to sign in again
    expect(tab.get_by_role("button", name="Sign in")).to_be_visible()
    assert tab.locator('[data-testid="stMetric"]').count() == 0

    rows = log_rows(store, VIEWER)
    actions = [action for action, _, _ in rows]
    assert actions.count("sign_in") == 1, rows  # one sign-in, however many pages were opened after it
    refused = [(target, detail) for action, target, detail in rows if action == "refused"]
    assert refused and all(detail == "pcn=UZ0002" for _, detail in refused), rows
    assert any("local values" in target for target, _ in refused)
    assert actions[-1] == "sign_out"


def test_an_icb_analyst_signs_in_sees_every_pcn_of_the_icb_and_signs_out(app, tab):
    url, store = app
    sign_in(tab, url, ANALYST)
    expect(tab.locator('[data-testid="stSidebar"]')).to_contain_text("ICB analyst of QZZ")

    open_url(tab, f"{url}/overview?pcn=UZ0002")
    expect(tab.get_by_role("heading", name="Millbrook PCN")).to_be_visible()
    expect(tab.locator('[data-testid="stMetric"]').filter(has_text=INTEGRATION_CARD)).to_be_visible()
    assert card_value(tab, INTEGRATION_CARD) not in (None, "No data")
    assert card_value(tab, PRACTICE_CARD) not in (None, "No data")
    assert not tab.get_by_text("Not shown to you").count()

    open_url(tab, f"{url}/local?pcn=UZ0002")
    expect(tab.get_by_text("You can read Millbrook PCN's local values")).to_be_visible()
    assert not tab.get_by_text("Not shown to you").count()

    sign_out(tab)
    rows = log_rows(store, ANALYST)
    assert [action for action, _, _ in rows] == ["sign_in", "sign_out"], rows
