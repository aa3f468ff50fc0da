"""The Overview's cards built from a PCN's rows: the newest version of each measure, and the range across its
practices with suppressed practices left out and counted."""

import math
from datetime import date

import pandas as pd

from measures import suppression
from measures.catalogue import Catalogue, default_catalogue
from measures.overview import build_cards

DNA = default_catalogue().get("dna_rate")  # a practice-level measure


def series(rows):
    return pd.DataFrame(rows, columns=["measure", "version", "period_start", "period_end", "value",
                                       suppression.FLAG])


def dna_card(rows, spread=None):
    return build_cards(Catalogue((DNA,)), series(rows), pd.DataFrame(), practice_spread=spread)[DNA.family][0]


def test_a_card_reads_the_newest_version_only_oldest_period_first_whatever_order_the_rows_come_in():
    card = dna_card([
        ("dna_rate", 2, "2026-03-01", "2026-03-31", 4.0, False),
        ("dna_rate", 1, "2026-04-01", "2026-04-30", 99.0, False),  # an older version, newer period: not read
        ("dna_rate", 2, "2026-01-01", "2026-01-31", 2.0, False),
        ("dna_rate", 2, "2026-02-01", "2026-02-28", None, False),  # no value and not suppressed: left out
    ])
    assert (card.latest_value, card.latest_period, card.latest_period_end) == (4.0, date(2026, 3, 1), date(2026, 3, 31))
    assert (card.previous_value, card.previous_period) == (2.0, date(2026, 1, 1))
    assert card.trend == [2.0, 4.0]


def test_a_suppressed_latest_value_shows_as_suppressed_with_no_change_beside_it():
    card = dna_card([("dna_rate", 1, "2026-01-01", "2026-01-31", 2.0, False),
                     ("dna_rate", 1, "2026-02-01", "2026-02-28", None, True)])
    assert card.latest_suppressed and card.latest_value is None and card.previous_value is None
    assert card.latest_period == date(2026, 2, 1) and card.suppressed_points == 1 and card.trend == [2.0]


def test_the_practice_range_leaves_suppressed_practices_out_and_counts_them():
    spread = pd.DataFrame({
        "measure": ["dna_rate"] * 5, "period_start": pd.to_datetime(["2026-02-01"] * 4 + ["2026-01-01"]),
        "value": [3.0, 7.5, 1.0, float("nan"), 50.0], suppression.FLAG: [False, False, True, False, False]})
    card = dna_card([("dna_rate", 1, "2026-02-01", "2026-02-28", 4.0, False)], spread)
    assert card.practice_range == (3.0, 7.5, 2) and card.practices_suppressed == 1  # the missing value: not counted


def test_a_range_whose_every_practice_is_suppressed_has_no_lowest_or_highest():
    spread = pd.DataFrame({"measure": ["dna_rate"] * 2, "period_start": pd.to_datetime(["2026-02-01"] * 2),
                           "value": [3.0, 4.0], suppression.FLAG: [True, True]})
    card = dna_card([("dna_rate", 1, "2026-02-01", "2026-02-28", 4.0, False)], spread)
    low, high, counted = card.practice_range
    assert math.isnan(low) and math.isnan(high) and counted == 0 and card.practices_suppressed == 2
