"""The Local measures page's Define tab: the same fields as a catalogue YAML file, checked by the same model."""

from __future__ import annotations

import streamlit as st

from .. import access, local
from ..catalogue import COMPARISONS_BY_TYPE, DEFAULT_COMPARISON, FAMILY_LABELS
from ..text import escape_markdown as plain
from .local_page import LocalPage
from .reads import query

_FIELDS = ("id", "name", "short_name", "description", "family", "level", "type", "numerator", "denominator",
           "unit", "multiplier", "decimals", "improvement_direction", "comparison", "frequency", "fair_share",
           "scope", "status", "tags", "caveats", "targets", "thresholds", "publication", "publisher")
_COMPARISON_NAMES = {"wilson": "Wilson score interval", "byar": "Byar's method", "dobson": "Dobson's method",
                     "normal": "normal interval", "none": "no interval (ranked only)"}
_LEVEL_NAMES = {"pcn": "PCN", "practice": "Practice", "neighbourhood": "Neighbourhood"}


def _levels(page: LocalPage) -> tuple[list[str], str | None]:
    """The levels offered, and why Neighbourhood is not among them (None when it is).

    A neighbourhood measure is recorded for each neighbourhood of the ICB, so the ICB sets it, and only those who
    may define the ICB's measures (administrators) are offered it, and only once the ICB has neighbourhoods.
    """
    pcn, levels = page.pcn, ["pcn", "practice"]
    icb = pcn.get("icb")
    if not icb:
        return levels, "Neighbourhood is not offered as a level: this PCN belongs to no ICB in the data."
    icb_text = f"{plain(pcn.get('icb_name') or icb)} ({plain(icb)})"
    if not query("local.icb_neighbourhood_count", icb):
        return levels, (f"Neighbourhood is not offered as a level: {icb_text} has no neighbourhoods yet (an "
                        "administrator defines them, in the app or with a neighbourhood file).")
    if not access.can_define(page.who, icb, page.code):
        return levels, (f"Neighbourhood is not offered as a level: a neighbourhood measure is set by {icb_text}, and "
                        f"only administrators define an ICB's measures. Your access: {plain(page.who.roles_text)}.")
    return levels + ["neighbourhood"], None


def _define(page: LocalPage, prefix: str) -> None:
    who, code = page.who, page.code
    fields = {name: st.session_state.get(f"{prefix}{name}") for name in _FIELDS}
    st.session_state.pop("define_result", None)
    if not access.can_define(who, fields.get("scope") or code, code):  # editors of the scope, or administrators
        st.session_state["define_errors"] = {"scope": f"{who.actor} may not define measures set by "
                                                      f"{fields.get('scope') or code}: {who.roles_text}"}
        return
    try:
        measure = local.measure_from_form(fields)
        result = local.define_measure(page.store, measure, st.session_state.get("actor") or "")
    except local.DefinitionError as exc:
        st.session_state["define_errors"] = exc.errors
        return
    st.session_state["define_errors"] = {}
    st.session_state["define_result"] = result


def _field_error(name: str) -> None:
    message = st.session_state.get("define_errors", {}).get(name)
    if message:
        st.error(plain(message), icon=":material/error:")


def show(page: LocalPage) -> None:
    """Pick a measure defined in the app (or a new one), fill in the form, check and save it."""
    pcn, code, by_id = page.pcn, page.code, page.by_id
    in_scope_app = [i for i in query("local.app_defined_ids") if i in by_id]
    if pcn.get("icb"):  # the ICB's neighbourhood measures, which the PCN's own catalogue leaves out
        hood_measures = {m.id: m for m in query("local.neighbourhood_measures", pcn["icb"])}
        in_scope_app += [i for i in sorted(hood_measures) if i not in by_id]
        by_id = {**by_id, **hood_measures}
    levels, no_neighbourhood = _levels(page)
    choice = st.selectbox("Measure to define or change", ["(a new measure)", *in_scope_app], key="define_choice")
    if choice == "(a new measure)":
        defaults = {"family": "local_integration", "level": "pcn", "type": "proportion", "multiplier": 100.0,
                    "decimals": 1, "unit": "%", "improvement_direction": "increase", "frequency": "monthly",
                    "scope": code, "status": "active", "publication": local.LOCAL_PUBLICATION,
                    "publisher": f"set locally by {pcn['pcn_name']}"}
    else:
        defaults = local.measure_form_defaults(by_id[choice])
        st.download_button("Download this measure as YAML", local.measure_yaml(by_id[choice]),
                           file_name=f"{choice}.yaml", mime="application/x-yaml", icon=":material/download:")
        with st.expander("Earlier definitions (every save is kept)"):
            st.dataframe(query("local.definition_history", choice)[["revision", "version", "created_by",
                                                                       "created_at"]], hide_index=True)
    prefix = f"def:{choice}:"
    scopes = [code] + ([pcn["icb"]] if pcn.get("icb") else [])
    with st.form(f"define:{choice}"):
        st.markdown("Changing the numerator or denominator (or type, level or multiplier) makes a **new version**; "
                    "values recorded under earlier versions keep their version.")
        st.text_input("Id (lower-case letters, digits and _; the file name)", defaults.get("id", ""),
                      key=f"{prefix}id", disabled=choice != "(a new measure)")
        _field_error("id")
        st.text_input("Name", defaults.get("name", ""), key=f"{prefix}name")
        _field_error("name")
        st.text_input("Short name (optional)", defaults.get("short_name", ""), key=f"{prefix}short_name")
        st.text_area("Description (what it shows and why it matters)", defaults.get("description", ""),
                     key=f"{prefix}description")
        _field_error("description")
        left, middle, right = st.columns(3)
        left.selectbox("Family", local.LOCAL_FAMILIES, format_func=FAMILY_LABELS.get, key=f"{prefix}family",
                       index=local.LOCAL_FAMILIES.index(defaults["family"]))
        if defaults["level"] not in levels:  # a measure defined earlier keeps its level on the form
            levels = levels + [defaults["level"]]
        middle.selectbox("Level", levels, index=levels.index(defaults["level"]), key=f"{prefix}level",
                         format_func=_LEVEL_NAMES.get,
                         help="Neighbourhood: recorded for each of the ICB's neighbourhoods (integration measures, "
                              "set by the ICB)" if "neighbourhood" in levels else None)
        types = ["proportion", "rate", "count", "mean", "currency", "ratio"]
        right.selectbox("Type", types, index=types.index(defaults["type"]), key=f"{prefix}type")
        if no_neighbourhood:
            st.caption(no_neighbourhood)
        _field_error("family")
        _field_error("level")
        _field_error("type")
        st.text_area("Numerator: what is counted", defaults.get("numerator", ""), key=f"{prefix}numerator")
        _field_error("numerator")
        st.text_area("Denominator (leave blank for a count)", defaults.get("denominator", ""),
                     key=f"{prefix}denominator")
        _field_error("denominator")
        left, middle, right = st.columns(3)
        left.text_input("Unit", defaults.get("unit", ""), key=f"{prefix}unit")
        middle.number_input("Multiplier", value=float(defaults.get("multiplier", 1.0)), key=f"{prefix}multiplier")
        right.number_input("Decimals", value=int(defaults.get("decimals", 1)), step=1, key=f"{prefix}decimals")
        _field_error("unit")
        _field_error("multiplier")
        _field_error("decimals")
        left, middle, right = st.columns(3)
        directions = ["increase", "decrease", "neutral"]
        left.selectbox("Better when it goes", directions, key=f"{prefix}improvement_direction",
                       index=directions.index(defaults["improvement_direction"]))
        frequencies = ["monthly", "quarterly", "annual"]
        middle.selectbox("Frequency", frequencies, index=frequencies.index(defaults["frequency"]),
                         key=f"{prefix}frequency")
        shares = ["", "registered_population", "weighted_population"]
        right.selectbox("Fair share follows (practice support)", shares,
                        index=shares.index(defaults.get("fair_share") or ""), key=f"{prefix}fair_share",
                        format_func=lambda s: s.replace("_", " ") or "none")
        left, right = st.columns(2)
        left.selectbox("Set by (scope)", scopes, index=scopes.index(defaults["scope"]) if defaults["scope"] in scopes
                       else 0, key=f"{prefix}scope")
        statuses = ["active", "draft", "retired"]
        right.selectbox("Status", statuses, index=statuses.index(defaults["status"]), key=f"{prefix}status")
        _field_error("scope")
        # The methods that fit the type as last submitted; a method that does not fit a changed type is refused.
        kind = st.session_state.get(f"{prefix}type") or defaults["type"]
        comparisons = list(COMPARISONS_BY_TYPE[kind])
        chosen = defaults.get("comparison") or DEFAULT_COMPARISON[kind]
        st.selectbox(f"Compare areas by (methods that fit a {kind})", comparisons, key=f"{prefix}comparison",
                     index=comparisons.index(chosen) if chosen in comparisons else 0,
                     format_func=_COMPARISON_NAMES.get)
        _field_error("comparison")
        left, right = st.columns(2)
        left.text_area(f"Targets, one financial year a line ({local.TARGET_EXAMPLE})", defaults.get("targets", ""),
                       key=f"{prefix}targets", help="A target for the year gives the SPC chart its assurance icon.")
        right.text_area(f"Thresholds, lower to upper, one year a line ({local.THRESHOLD_EXAMPLE})",
                        defaults.get("thresholds", ""), key=f"{prefix}thresholds",
                        help="No credit at or below lower, full credit at or above upper.")
        with left:
            _field_error("targets")
        with right:
            _field_error("thresholds")
        st.text_input("Tags (comma-separated)", defaults.get("tags", ""), key=f"{prefix}tags")
        st.text_area("Caveats (one per line)", defaults.get("caveats", ""), key=f"{prefix}caveats")
        _field_error("caveats")
        left, right = st.columns(2)
        left.text_input("Who records the data", defaults.get("publication", ""), key=f"{prefix}publication")
        right.text_input("Who set the measure", defaults.get("publisher", ""), key=f"{prefix}publisher")
        _field_error("publication")
        _field_error("form")
        _field_error("actor")
        st.form_submit_button("Check and save", type="primary", on_click=_define, args=(page, prefix),
                              key="define_submit")
    if errors := st.session_state.get("define_errors"):
        st.error(f"Not saved: {len(errors)} field{'s' if len(errors) != 1 else ''} to fix (shown beside each).")
    if result := st.session_state.get("define_result"):
        saved = result.measure
        verb = {"new measure": "Saved a new measure", "new version": f"Saved version {saved.version} (the meaning "
                f"changed; values recorded under version {result.previous_version} keep it)",
                "updated": f"Saved changes to version {saved.version}", "unchanged": "Nothing changed"}[result.outcome]
        st.success(f"{verb}: {plain(saved.name)} ({plain(saved.id)}).", icon=":material/check_circle:")
        if saved.level == "neighbourhood":
            st.info(f"It is recorded for each neighbourhood of {plain(saved.scope)} (a file's org_code is the "
                    "neighbourhood's code) and shown beside the boards of the neighbourhood's PCNs.",
                    icon=":material/hub:")
        st.download_button("Download as YAML", local.measure_yaml(saved), file_name=f"{saved.id}.yaml",
                           mime="application/x-yaml", key="download_saved_yaml", icon=":material/download:")
