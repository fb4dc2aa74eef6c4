"""`manage.py followup_report`: the per-year follow-up table of a center, read-only."""

import datetime as dt

import pytest
import time_machine
from django.core.management import CommandError, call_command

from journey.models import Stage
from tests import factories as f

NOW = dt.datetime(2026, 7, 1, 15, 0, tzinfo=dt.UTC)

pytestmark = pytest.mark.django_db


def run(*args):
    from io import StringIO

    out = StringIO()
    call_command("followup_report", *args, stdout=out)
    return out.getvalue()


def lost_child(center, infused):
    return f.JourneyFactory(
        patient=f.PatientFactory(center=center), center=center, stage=Stage.WITHDRAWN,
        infusion_date=infused, closed_at=NOW,
    )  # fmt: skip


def test_the_table_counts_each_center_by_year_since_infusion(center_a, center_b):
    lost_child(center_a, dt.date(2025, 1, 1))  # left in year 2
    lost_child(center_b, dt.date(2026, 1, 1))  # another center's
    with time_machine.travel(NOW, tick=False):
        text = run("--center", center_a.name)
        csv_text = run("--center", center_a.name, "--csv")
    lines = text.splitlines()
    assert lines[0].startswith(center_a.name) and center_b.name not in text
    assert lines[1] == "Year | Visit in window | At risk | Lost"
    assert [cell.strip() for cell in lines[2].split("|")] == ["2", "0", "0", "1"]
    assert csv_text.splitlines()[1:] == [
        "year_since_infusion,visit_in_window,at_risk,lost",
        "2,0,0,1",
    ]


def test_an_unknown_center_is_an_error(center_a):
    with pytest.raises(CommandError):
        run("--center", "No such center")
