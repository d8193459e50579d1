"""Terminal tables: 80 columns, intervals under their means, nothing cut short."""

from __future__ import annotations

from simulator.tables import print_table


def test_wide_rows_fit_80_columns_without_losing_a_digit(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    rows = [("reserve_60d_refill", "1,146.2", "-182.1 [-1,360.3, +996.1]", "11,096",
             "-810 [-975, -645]", "1,186")]
    print_table("title [p5–p95]", ["variant", "cost (USD m)", "Δ cost (USD m) [95% CI]",
                                   "unmet (t)", "Δ unmet (t) [95% CI]", "CVaR95 unmet (t)"],
                rows, left=("variant",))
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert max(map(len, lines)) <= 80 and "…" not in out
    assert "title [p5–p95]" in out  # brackets printed, not read as rich markup
    means = next(line for line in lines if "reserve_60d_refill" in line).split()
    assert means == ["reserve_60d_refill", "1,146.2", "-182.1", "11,096", "-810", "1,186"]
    assert "[-1,360.3, +996.1]" in out and "[-975, -645]" in out  # on the line below
    assert "Δ cost" in out and "[95% CI]" in out
