"""The national pension monthly contribution (国民年金保険料) by fiscal year.

Published by the Japan Pension Service (日本年金機構) for each fiscal year (April to March),
e.g. 17,510 yen for FY2025 (令和7年度). The pension service charges and checks payments with
it; the dev seeder records plausible payments with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

MONTHLY_CONTRIBUTION: Mapping[int, int] = MappingProxyType(
    {
        2010: 15_100,
        2011: 15_020,
        2012: 14_980,
        2013: 15_040,
        2014: 15_250,
        2015: 15_590,
        2016: 16_260,
        2017: 16_490,
        2018: 16_340,
        2019: 16_410,
        2020: 16_540,
        2021: 16_610,
        2022: 16_590,
        2023: 16_520,
        2024: 16_980,
        2025: 17_510,
        2026: 17_920,
    }
)
"""National pension monthly contribution in yen by fiscal year (日本年金機構)."""
