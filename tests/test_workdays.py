"""The working-day clock of licence reviews: Monday to Friday, less holidays."""

from __future__ import annotations

import datetime as dt

import numpy as np
from conftest import scenario

from simulator import compile_plan
from simulator.workdays import WorkCalendar

MONDAY = dt.date(2025, 1, 6)


def test_two_weeks_from_a_monday_with_a_wednesday_holiday():
    cal = WorkCalendar(MONDAY, 14, [dt.date(2025, 1, 8)])
    # Mon Tue (Wed off) Thu Fri, Sat Sun; Mon..Fri, Sat Sun
    assert cal.work[:14].tolist() == [1, 1, 0, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0, 0]
    # 3 working days from Monday 00:00: Mon, Tue, Thu -> the end of Thursday (t = 4)
    assert cal.add(0.0, 3.0) == 4.0
    assert cal.between(0.0, 7.0) == 4.0  # the first week has 4 working days


def test_scenario_holidays_and_weekdays_match_the_python_calendar():
    holidays = [dt.date(2025, 1, 20), dt.date(2025, 2, 17), dt.date(2025, 5, 26)]
    plan = compile_plan(scenario({"gate.holidays": [h.isoformat() for h in holidays]}))
    dates = [MONDAY + dt.timedelta(days=k) for k in range(plan.days)]
    expected = [d.weekday() < 5 and d not in holidays for d in dates]  # weekday(): Mon = 0
    np.testing.assert_array_equal(plan.calendar.work[:plan.days], expected)
    assert plan.calendar.at_day(plan.days) == sum(expected)
