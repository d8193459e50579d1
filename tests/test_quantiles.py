"""The gamma quantile table against scipy's exact inverse, and its order in u."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from simulator.quantiles import gamma_ppf

U = np.concatenate([np.random.default_rng(11).random(200_000),
                    [2.0**-53, 1e-12, 1e-6, 0.5, 1.0 - 1e-12, 1.0 - 2.0**-53]])


@pytest.mark.parametrize(("cv", "rel"), [(5.0, 2e-8), (3.0, 5e-9), (1.0, 1e-10),
                                         (0.5, 1e-12), (0.3, 1e-12), (0.05, 1e-12),
                                         (0.01, 1e-12)])
def test_table_matches_the_exact_inverse(cv, rel):
    shape = 1.0 / cv**2
    exact = special.gammaincinv(shape, U) / shape  # multiples of the mean
    table = gamma_ppf(shape, U) / shape
    assert np.abs(table - exact).max() < 1e-9
    bulk = exact > 1e-3
    assert (np.abs(table - exact)[bulk] / exact[bulk]).max() < rel


@pytest.mark.parametrize("cv", [5.0, 1.0, 0.3])
def test_quantiles_increase_with_u_and_start_at_zero(cv):
    shape = 1.0 / cv**2
    u = np.sort(U)
    x = gamma_ppf(shape, np.concatenate([[0.0], u]))
    assert x[0] == 0.0
    assert np.all(np.diff(x) >= 0.0)


def test_draws_have_the_gamma_mean_and_cv():
    # 1e6 draws: standard errors 3e-4 of the mean, 8e-4 (relative) of the sd; ~4-5 allowed
    shape = 1.0 / 0.3**2
    x = gamma_ppf(shape, np.random.default_rng(3).random(1_000_000)) / shape
    assert x.mean() == pytest.approx(1.0, abs=1.5e-3)
    assert x.std() == pytest.approx(0.3, rel=3e-3)
