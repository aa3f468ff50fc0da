#!/usr/bin/env bash
# Set up this machine and run the product: ./run.sh app | test | bench | demo-national
set -euo pipefail
cd "$(dirname "$0")"

install_system_packages() {
  # Chromium draws static chart exports (kaleido) and drives the real-browser tests (Playwright).
  command -v chromium >/dev/null 2>&1 && return
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
}

install_python_packages() {
  [ -x .venv/bin/python ] || python3 -m venv .venv
  if [ ! -f .venv/.installed ] || [ requirements.txt -nt .venv/.installed ]; then
    .venv/bin/pip install -q --disable-pip-version-check -r requirements.txt 2>&1 | grep -v "is ignored" || true
    .venv/bin/python -c "import streamlit, duckdb, pandas, plotly" && touch .venv/.installed
  fi
}

refuse_open_network() {
  # Without `[auth]` in .streamlit/secrets.toml the app is in open demo mode: everything for everyone, so it may
  # listen beyond this machine only when PCN_ALLOW_OPEN_NETWORK=1 says so. Checked before any install.
  local python=python3
  [ -x .venv/bin/python ] && python=.venv/bin/python
  "$python" -m measures.serving "${HOST:-127.0.0.1}"
}

setup() {
  install_system_packages
  install_python_packages
}

case "${1:-}" in
  app)
    refuse_open_network
    setup
    # measures.ui.serve is `streamlit run` with Streamlit's old pages-folder mode off, so deep links open cleanly.
    exec .venv/bin/python -c "import sys; from measures.ui import serve; sys.exit(serve(sys.argv[1:]))" run app.py --server.headless true --server.address "${HOST:-127.0.0.1}" --server.port "${PORT:-8501}"
    ;;
  test)
    setup
    shift
    # Two workers, one per core of CI's machine; PCN_TEST_WORKERS=0 runs in one process (as for a debugger).
    exec .venv/bin/python -m pytest -n "${PCN_TEST_WORKERS:-2}" --dist loadfile "$@"
    ;;
  bench)
    setup
    exec .venv/bin/python -m bench
    ;;
  *)
    echo "usage: ./run.sh app | test [pytest args] | bench" >&2
    exit 2
    ;;
esac
