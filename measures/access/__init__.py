"""Who sees what: principals, roles scoped to a PCN or an ICB, and the checks every read path applies.

Decisions here are pure: they take a `Principal` (who is asking, with their grants) and a `Directory`
(which PCN each practice belonged to when, each PCN's ICB, and the periods each PCN has published) and
answer yes or no, or filter a frame. Nothing here imports Streamlit; the app, the exports and the command
line all call these same functions, so a crafted URL or a command for another PCN meets the same refusal.

The rules (README, "Who sees what"):

- National published data (the `national_des` family) is readable by everyone allowed in at all.
- A PCN's local values (the `local_integration` and `practice_support` families: values recorded by the PCN,
  their sums over its practices, their audit history) are readable by the PCN's own viewers and editors, by
  ICB analysts of its ICB and by administrators; by anyone else only for the periods the PCN has published.
- Editors of a PCN record its values, define its measures, add chart notes and publish its periods.
- A neighbourhood's local values follow the same rules through its PCNs (every PCN with a practice in it, at
  any time): their viewers and editors read them, their editors record them, and its ICB's analysts read them.
- Administrators do everything, including imports and rebuilding the demo.
- With no access control configured (no `[auth]` in the app's secrets; no access file for the command line)
  everyone is `OPEN`: the product behaves as before this module existed ("open demo mode").

One module per job: `files` (the access file), `principals` (who is asking), `rules` (the decisions and the
filters), `reads` (the directory from the store, and the access log). Every public name is importable from here.
"""

from .files import (
    DEFAULT_ACCESS_FILE,
    EXAMPLE_ACCESS_FILE,
    ROLE_LABELS,
    ROOT,
    AccessFile,
    AccessFileError,
    Grant,
    Role,
    access_path,
    load_access,
    parse_access,
)
from .principals import OPEN, Principal, cli_principal, principal_for, principal_from_claims
from .rules import (
    LOCAL_FAMILIES,
    AccessDenied,
    Directory,
    can_administer,
    can_define,
    can_edit,
    can_read_local,
    filter_comparator,
    filter_rows,
    is_local_measure,
    member_of,
    national_ids,
    pcn_of_rows,
    readable_mask,
    readable_pcns,
    require_admin,
    require_edit,
    require_local,
    who_may_read,
)
from .reads import access_log, directory, log_event, write_log_event
