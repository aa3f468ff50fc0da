"""What the statistics share: number and confidence-level checks, and results shaped like their inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import ndtri


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _is_whole_number(value) -> bool:
    return _is_number(value) and float(value).is_integer()


def _confidence_level(confidence) -> float:
    # The package's rule: 0.9-1 as a fraction, or 90-100 as a percentage.
    if not _is_number(confidence) or confidence < 0.9 or 1 < confidence < 90 or confidence > 100:
        raise ValueError("confidence level must be between 90 and 100 or between 0.9 and 1")
    return confidence / 100 if confidence >= 90 else float(confidence)


def _two_sided_z(level: float) -> float:
    return float(ndtri(level + (1 - level) / 2))


def _level_tag(level: float) -> str:
    percent = _confidence_level(level) * 100
    return f"{percent:.10g}".replace(".", "_")


def _float_arrays(*values) -> list[np.ndarray]:
    return [_float_array(value) for value in values]


def _float_array(value) -> np.ndarray:
    if isinstance(value, (pd.Series, pd.Index)):
        return pd.to_numeric(value).to_numpy(dtype=float, na_value=np.nan)
    if value is None or value is pd.NA:
        return np.array(np.nan)
    return np.asarray(value, dtype=float)


def _like_input(result: np.ndarray, *inputs):
    """Give the result the shape of the inputs: a Series for Series input, a scalar for scalars."""
    for value in inputs:
        if isinstance(value, pd.Series):
            return pd.Series(np.asarray(result), index=value.index)
    if all(np.ndim(value) == 0 for value in inputs):
        return np.asarray(result).item()
    return np.asarray(result)
