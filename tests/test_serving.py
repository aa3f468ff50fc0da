"""Open demo mode (no `[auth]`) is never served beyond this machine unless PCN_ALLOW_OPEN_NETWORK=1 says so."""

import os
import shutil
import subprocess
import sys
import time

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.util import patch_config_options

from measures import serving
from tests import apptest
from tests.conftest import ROOT


@pytest.mark.parametrize("address, loopback", [
    ("127.0.0.1", True), ("127.0.0.2", True), ("localhost", True), ("::1", True), ("[::1]", True),
    ("unix:///tmp/pcn.sock", True),
    ("0.0.0.0", False), ("::", False), ("192.168.1.20", False), ("pcn.example.nhs.uk", False),
    ("", False), (None, False),  # no address: Streamlit listens on every interface
])
def test_only_addresses_this_machine_alone_reaches_count_as_loopback(address, loopback):
    assert serving.is_loopback(address) is loopback


@pytest.mark.parametrize("address, auth, variable, refused", [
    ("127.0.0.1", False, None, False),
    ("0.0.0.0", False, None, True),
    ("0.0.0.0", False, "0", True),
    ("0.0.0.0", False, "", True),
    ("0.0.0.0", False, "1", False),
    ("0.0.0.0", False, "yes", False),
    ("0.0.0.0", True, None, False),  # sign-in and roles apply: the network may reach it
    (None, False, None, True),
])
def test_a_network_address_in_open_demo_mode_is_refused_unless_allowed(address, auth, variable, refused):
    environ = {} if variable is None else {serving.ALLOW_OPEN_NETWORK: variable}
    refusal = serving.open_network_refusal(address, auth, environ=environ)
    assert (refusal is not None) is refused
    if refused:
        assert "open demo mode" in refusal and "`[auth]`" in refusal and "PCN_ALLOW_OPEN_NETWORK=1" in refusal
        assert (address or "every network interface") in refusal


def test_only_an_auth_section_in_the_secrets_counts_as_sign_in(tmp_path):
    signed = tmp_path / "signed.toml"
    signed.write_text('[auth]\nredirect_uri = "https://pcn.example/oauth2callback"\ncookie_secret = "x"\n')
    other = tmp_path / "other.toml"
    other.write_text('[connections.db]\nurl = "x"\n')
    broken = tmp_path / "broken.toml"
    broken.write_text("[auth\nredirect_uri = ")
    assert serving.auth_in_secrets([tmp_path / "absent.toml", signed]) == (True, [])
    assert serving.auth_in_secrets([other, tmp_path / "absent.toml"]) == (False, [])
    found, unreadable = serving.auth_in_secrets([broken])
    assert found is False and str(broken) in unreadable[0]


def _copy_of_run_sh(tmp_path):
    """run.sh and the check it calls, in a folder with no virtualenv and no secrets: setup would have to install."""
    copy = tmp_path / "checkout"
    (copy / "measures").mkdir(parents=True)
    shutil.copy(ROOT / "run.sh", copy / "run.sh")
    shutil.copy(ROOT / "measures" / "__init__.py", copy / "measures" / "__init__.py")
    if (ROOT / "measures" / "serving.py").exists():
        shutil.copy(ROOT / "measures" / "serving.py", copy / "measures" / "serving.py")
    return copy


def test_run_sh_refuses_host_0_0_0_0_in_open_demo_mode_before_installing_anything(tmp_path):
    copy = _copy_of_run_sh(tmp_path)
    # No streamlit on PATH and none in the copy: even a run.sh that got as far as starting it could not listen.
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "HOST": "0.0.0.0", "PORT": "8599"}
    started = time.monotonic()
    result = subprocess.run(["bash", str(copy / "run.sh"), "app"], cwd=copy, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode != 0
    assert "Refusing to serve the PCN dashboard on 0.0.0.0" in result.stderr
    assert "PCN_ALLOW_OPEN_NETWORK=1" in result.stderr and "leave HOST unset" in result.stderr
    assert not (copy / ".venv").exists()  # refused before setup made a virtualenv or installed packages
    assert time.monotonic() - started < 10


def test_the_check_run_sh_calls_lets_through_loopback_sign_in_and_the_explicit_variable(tmp_path):
    def check(host, *, secrets=None, **variables):
        folder = tmp_path / f"project-{len(list(tmp_path.iterdir()))}"
        (folder / ".streamlit").mkdir(parents=True)
        if secrets:
            (folder / ".streamlit" / "secrets.toml").write_text(secrets)
        env = {name: value for name, value in os.environ.items() if name != serving.ALLOW_OPEN_NETWORK}
        env.update(HOME=str(folder), PYTHONPATH=str(ROOT), **variables)
        return subprocess.run([sys.executable, "-m", "measures.serving", host], cwd=folder, env=env,
                              capture_output=True, text=True, timeout=60)

    assert check("127.0.0.1").returncode == 0
    refused = check("0.0.0.0")
    assert refused.returncode == 2 and "Refusing to serve" in refused.stderr
    assert check("0.0.0.0", secrets='[auth]\nclient_id = "pcn"\n').returncode == 0
    allowed = check("0.0.0.0", PCN_ALLOW_OPEN_NETWORK="1")
    assert allowed.returncode == 0 and "warning: Serving open demo mode on 0.0.0.0" in allowed.stderr
    broken = check("0.0.0.0", secrets="[auth\n")
    assert broken.returncode == 2 and "cannot be read as TOML" in broken.stderr


# --- the app itself, however it was started ---------------------------------------------------------------------


def _run_listening_on(address, app=apptest.APP, *, session=None, secrets=None) -> AppTest:
    at = AppTest.from_file(app, default_timeout=60)
    for key, value in (session or {}).items():
        at.session_state[key] = value
    if secrets:
        at.secrets["auth"] = secrets
        at.user = {"is_logged_in": False}
    with patch_config_options({"server.address": address}):
        at.run()
    assert not at.exception, at.exception
    return at


def _refusal_shown(at) -> bool:
    return any("Refusing to serve the PCN dashboard" in error.value for error in at.error)


@pytest.fixture
def open_demo(app_env, monkeypatch):
    monkeypatch.setenv("PCN_ACCESS", "")
    monkeypatch.delenv(serving.ALLOW_OPEN_NETWORK, raising=False)
    return app_env


def test_the_app_on_0_0_0_0_in_open_demo_mode_shows_only_why_and_what_to_do(open_demo, monkeypatch):
    at = _run_listening_on("0.0.0.0")
    assert _refusal_shown(at) and len(at.error) == 1
    assert "--server.address 127.0.0.1" in at.error[0].value and "PCN_ALLOW_OPEN_NETWORK=1" in at.error[0].value
    assert not at.metric and not at.sidebar.selectbox and not at.dataframe
    # ...and each of the three ways out serves it
    local = _run_listening_on("127.0.0.1")
    assert not _refusal_shown(local) and local.sidebar.selectbox
    signed_in_required = _run_listening_on("0.0.0.0", secrets=apptest.AUTH)
    assert not _refusal_shown(signed_in_required) and [b.label for b in signed_in_required.button] == ["Sign in"]
    monkeypatch.setenv(serving.ALLOW_OPEN_NETWORK, "1")
    allowed = _run_listening_on("0.0.0.0")
    assert not _refusal_shown(allowed) and allowed.sidebar.selectbox


def test_a_page_run_without_app_py_is_refused_on_a_network_address_too(open_demo):
    # Streamlit runs a `pages/` file named in the URL of a freshly started server without app.py.
    from measures import queries
    from measures.store import Store

    pcn = queries.pcns(Store(open_demo)).iloc[0]
    at = _run_listening_on("0.0.0.0", str(ROOT / "pages" / "pcn_overview.py"),
                           session={"current_pcn": pcn.to_dict()})
    assert _refusal_shown(at)
    assert not at.metric
