"""Opening the app headless through AppTest: on a page, with query parameters, signed in or not."""

import pandas as pd
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

APP = str(ROOT / "app.py")
# Enough `[auth]` for the app to require sign-in; AppTest's `at.user` stands in for the provider.
AUTH = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "s" * 48, "client_id": "pcn",
        "client_secret": "secret", "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}


def open_app(page: str | None = None, *, pcn: str | None = None, email: str | None = None, signed_in: bool = True,
             claims: dict | None = None, timeout: float = 60, **params) -> AppTest:
    """Run the app (then switch to `page`), failing on any exception it raised.

    With an `email` (or `signed_in=False`), `[auth]` is configured and that user is signed in (or nobody is);
    without, the app runs in open demo mode.
    """
    at = AppTest.from_file(APP, default_timeout=timeout)
    if email is not None or not signed_in:
        at.secrets["auth"] = AUTH
        at.user = {"is_logged_in": signed_in, **({"email": email, "name": email.split("@")[0].title()}
                                                  if signed_in else {}), **(claims or {})}
    if pcn:
        at.query_params["pcn"] = pcn
    at.query_params.update(params)
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def table_with(at: AppTest, column: str):
    """The one st.dataframe showing `column` (AppTest finds read-only tables by content, not by key)."""
    found = [d.value for d in at.dataframe if column in d.value.columns]
    assert len(found) == 1, [list(d.value.columns) for d in at.dataframe]
    return found[0]


def texts(elements) -> str:
    """The text of a run's elements of one kind (its captions, warnings, markdown), one per line."""
    return "\n".join(str(e.value) for e in elements)


def shown_text(element) -> pd.DataFrame:
    """What an st.dataframe drawn from a pandas Styler shows in each cell (its display text, not its values)."""
    import io

    import pyarrow as pa

    arrow = element.proto.arrow_data
    assert arrow.HasField("styler"), "the table was not drawn with display text"
    return pa.ipc.open_stream(io.BytesIO(arrow.styler.display_values)).read_all().to_pandas()


def chart_headings(at: AppTest) -> list[tuple[str, str]]:
    """The title and subtitle shown above each chart of a run (`ui.show_figure`: `**title**`, then `:gray[subtitle]`
    on the next line), as the page shows them, in page order."""
    import re

    headings = []
    for element in at.markdown:
        found = re.fullmatch(r"\*\*(.*)\*\*  \n:gray\[(.*)\]", str(element.value), flags=re.DOTALL)
        if found:
            shown = [re.sub(r"\\(.)", r"\1", part).replace("\u2060", "") for part in found.groups()]
            headings.append((shown[0], shown[1]))
    return headings


def open_tab(at, label: str):
    """Open one of Compare areas' tabs and run the page again: only the open tab is drawn (`?tab=` opens one too)."""
    at.session_state["tab"] = label
    return at.run()

