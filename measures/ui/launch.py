"""The app's name and its launcher: `streamlit run` with the old pages-folder mode off, so deep links open."""

from __future__ import annotations


APP_TITLE = "PCN dashboard"
SERVE = "import sys; from measures.ui import serve; sys.exit(serve(sys.argv[1:]))"  # python -c SERVE run app.py …


def serve(argv: list[str]) -> int:
    """`streamlit run` for this app (`argv` as after `streamlit`), with every page's URL opening cleanly first time.

    Streamlit decides once per server, on its first visitor, whether the app uses the old `pages/` folder
    multipage mode, because a `pages/` folder sits beside `app.py`. A first visitor who opens `/compare` or
    `/measure` is then told "Page not found" (no file is named so) while `st.navigation` draws the page under
    the dialog. This app uses `st.navigation` only, so the folder mode is switched off before the server starts.
    `./run.sh app` and the browser tests start the app this way; a bare `streamlit run app.py` still works, but
    its first visitor to a deep link sees that dialog once.
    """
    import sys

    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.web import cli

    PagesManager.uses_pages_directory = False
    sys.argv = ["streamlit", *argv]
    try:
        cli.main()  # a click command: it ends by raising SystemExit with the server's exit code
    except SystemExit as stopped:
        return stopped.code if isinstance(stopped.code, int) else (0 if stopped.code is None else 1)
    return 0
