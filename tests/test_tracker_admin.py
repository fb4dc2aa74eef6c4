"""Admin pages: worklist (query count, scoping, actions), result entry, plan and print pages."""

import datetime as dt
import re

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from journey.models import Patient, Therapy
from tests import factories as f
from tests import factories_tracker as ft
from tests.conftest import otp_login
from tracker import services
from tracker.models import LabResult, ScheduledLab
from tracker.services import worklist

TODAY = dt.date(2026, 3, 2)
DAY0 = TODAY - dt.timedelta(days=20)
WORKLIST = reverse("admin:tracker_worklist_changelist")
OVERDUE_PER_PATIENT = 6  # on day 20: baseline, liver x2, platelets day 7, troponin x2
DRAWS_PER_PATIENT = 3  # baseline; day 7 (liver, platelets, troponin); day 14 (liver, troponin)
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC), tick=False):
        yield


def _patient_with_work(center, therapy):
    """A planned journey with an overdue draw, one abnormal result and draws due this week."""
    patient = f.PatientFactory(center=center, date_of_birth=dt.date(2025, 6, 1))
    j = f.JourneyFactory(patient=patient, therapy=therapy, infusion_date=DAY0)
    services.generate_plan(j, reason="test")
    collected = timezone.make_aware(dt.datetime.combine(DAY0 + dt.timedelta(days=14), dt.time(9)))
    services.record_results(j, collected, [("PLT", "120", "10^9/L")], by=None)
    return j


def _sections(response):
    """The worklist's pages by section key (overdue, review, extended, due-soon, ...)."""
    return {entry.page.key: entry.page for entry in response.context["sections"]}


def _labs(page):
    """The scheduled labs of a page's draw rows (each row names its labs' public ids)."""
    return ScheduledLab.objects.filter(
        public_id__in=[lab for row in page.rows for lab in row["labs"]]
    )


def _worklist_queries(client, user):
    """The queries of one worklist request (every request draws the lists)."""
    otp_login(client, user)
    client.get(WORKLIST)  # warm the session and content types
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(WORKLIST)
    assert response.status_code == 200
    return len(ctx.captured_queries), response


def test_worklist_query_count_is_constant(client, coordinator_a, center_a):
    therapy = ft.therapy()
    for _ in range(10):
        _patient_with_work(center_a, therapy)
    small, response = _worklist_queries(client, coordinator_a)
    assert _sections(response)["overdue"].count == 10 * DRAWS_PER_PATIENT
    for _ in range(190):
        _patient_with_work(center_a, therapy)
    large, response = _worklist_queries(client, coordinator_a)
    sections = _sections(response)
    assert sections["overdue"].count == 200 * DRAWS_PER_PATIENT
    assert sections["review"].count == 200
    assert sections["due-soon"].count >= 200
    assert all(len(page.rows) <= page.per_page for page in sections.values())
    assert large == small
    print(f"worklist queries: {small} for 10 patients, {large} for 200")


def test_worklist_query_count(client, coordinator_a, center_a, django_assert_num_queries):
    therapy = ft.therapy()
    for _ in range(3):
        _patient_with_work(center_a, therapy)
    otp_login(client, coordinator_a)
    response = client.get(WORKLIST)
    with_rows = sum(1 for page in _sections(response).values() if page.rows)
    assert with_rows == 3  # results to review, overdue draws, draws due this week
    # Every request, the second as the first: the session (none with Redis: cached
    # sessions), the user with their device, their centers with each one's zone (the
    # center's today), their permissions; then one statement for every section's page of
    # keys (a draw's: journey and day) with its count, whatever the number of sections, and
    # one query for the rows of each section that has some. Each list reads its center's
    # rows itself: no query for journey ids.
    assert len(worklist.sections(coordinator_a)) >= 12  # the tracker's five and the others'
    session = 0 if settings.SESSION_ENGINE.endswith("cached_db") else 1
    for _ in range(2):
        with django_assert_num_queries(session + 3 + 1 + with_rows):
            client.get(WORKLIST)


def test_worklist_lists_link_to_the_patient(client, coordinator_a, center_a):
    j = _patient_with_work(center_a, ft.therapy())
    otp_login(client, coordinator_a)
    response = client.get(WORKLIST)
    assert reverse("admin:journey_patient_change", args=[j.patient_id]) in response.text
    sections = _sections(response)
    overdue = {
        (lab.item.code, lab.sequence, lab.status(TODAY)) for lab in _labs(sections["overdue"])
    }
    assert overdue == {
        ("baseline-labs", 1, "overdue"),
        ("liver-panel", 1, "overdue"),
        ("liver-panel", 2, "overdue"),
        ("platelets", 1, "overdue"),  # the day-14 result completed platelets #2
        ("troponin", 1, "overdue"),
        ("troponin", 2, "overdue"),
    }
    due = {(lab.item.code, lab.due_on) for lab in _labs(sections["due-soon"])}
    assert ("liver-panel", DAY0 + dt.timedelta(days=21)) in due
    assert ("steroid-taper", DAY0 + dt.timedelta(days=30)) not in due


def test_coordinator_b_sees_nothing_of_center_a(client, coordinator_a, coordinator_b, center_a):
    _patient_with_work(center_a, ft.therapy())
    otp_login(client, coordinator_b)
    response = client.get(WORKLIST)
    for page in _sections(response).values():
        assert (page.count, page.rows) == (0, [])


def test_worklist_rows_escape_names_and_show_the_result_and_its_form(
    client, coordinator_a, center_a
):
    """The pre-formatted rows (tracker/admin/worklist_rows.py): names escaped, the result's
    value, unit and flag, and each row's form posting its own target with the CSRF token."""
    j = _patient_with_work(center_a, ft.therapy())
    Patient.objects.filter(pk=j.patient_id).update(first_name="<b>Ana</b>")
    otp_login(client, coordinator_a)
    response = client.get(WORKLIST)
    text = response.text
    assert "<b>Ana</b>" not in text and "&lt;b&gt;Ana&lt;/b&gt;" in text
    result = LabResult.objects.awaiting_review().get(journey=j)
    row = text.split(f'value="{result.public_id}"')[0].rsplit("<tr>", 1)[1]
    assert f'<td class="flag-{result.flag}">120 10^9/L · {result.get_flag_display()}' in row
    assert re.search(r'name="csrfmiddlewaretoken" value="\w{64}"', row)
    assert '<input type="hidden" name="action" value="review">' in row


def test_mark_reviewed_from_the_worklist(client, coordinator_a, center_a):
    j = _patient_with_work(center_a, ft.therapy())
    result = LabResult.objects.get(journey=j)
    otp_login(client, coordinator_a)
    data = {"action": "review", "target": result.public_id, "note": "repeat on day 21"}
    assert client.post(WORKLIST, data).status_code == 302
    result.refresh_from_db()
    assert (result.reviewed_by, result.review_note) == (coordinator_a, "repeat on day 21")
    assert _sections(client.get(WORKLIST))["review"].rows == []


def test_a_new_result_and_its_review_show_on_the_next_load(client, coordinator_a, center_a):
    """Every load draws the lists (issue 12: no worklist cache), also after a queryset update."""
    j = _patient_with_work(center_a, ft.therapy())
    otp_login(client, coordinator_a)
    assert _sections(client.get(WORKLIST))["review"].count == 1
    collected = timezone.make_aware(dt.datetime.combine(DAY0 + dt.timedelta(days=18), dt.time(9)))
    [new] = services.record_results(j, collected, [("PLT", "40", "10^9/L")], by=coordinator_a)
    response = client.get(WORKLIST)
    assert _sections(response)["review"].count == 2 and "40 10^9/L" in response.text
    services.review_result(new, by=coordinator_a, note="seen")  # a queryset update
    assert _sections(client.get(WORKLIST))["review"].count == 1


def test_access_changes_count_on_the_next_load(client, coordinator_a, center_a, center_b):
    """Centers and permissions are read every request: a move or a removal counts at once."""
    from django.contrib.auth.models import Permission

    from journey.models import Membership

    a, b = _patient_with_work(center_a, ft.therapy()), _patient_with_work(center_b, ft.therapy())
    otp_login(client, coordinator_a)
    page = client.get(WORKLIST).text
    assert str(a.patient) in page and str(b.patient) not in page
    Membership.objects.filter(user=coordinator_a).update(center=center_b)  # no signal
    page = client.get(WORKLIST).text
    assert str(a.patient) not in page and str(b.patient) in page
    view = Permission.objects.get(codename="view_scheduledlab")
    for group in coordinator_a.groups.all():
        group.permissions.remove(view)
    coordinator_a.user_permissions.remove(view)
    assert client.get(WORKLIST).status_code == 403


def test_outsider_post_is_404_and_changes_nothing(client, coordinator_b, center_a):
    j = _patient_with_work(center_a, ft.therapy())
    result = LabResult.objects.get(journey=j)
    lab = ScheduledLab.objects.overdue(TODAY).filter(journey=j).first()
    otp_login(client, coordinator_b)
    review = {"action": "review", "target": result.public_id, "note": "x"}
    missed = {"action": "missed", "target": lab.public_id, "note": "x"}
    assert client.post(WORKLIST, review).status_code == 404
    assert client.post(WORKLIST, missed).status_code == 404
    result.refresh_from_db()
    lab.refresh_from_db()
    assert result.reviewed_at is None and lab.missed_at is None


def _urls(j):
    plan = j.monitoring_plan
    result = LabResult.objects.filter(journey=j).first()
    lab = ScheduledLab.objects.filter(journey=j).first()
    return [
        reverse("admin:tracker_monitoringplan_change", args=[plan.pk]),
        reverse("admin:tracker_enter_results", args=[j.pk]),
        reverse("admin:tracker_plan_print", args=[j.pk]),
        reverse("admin:tracker_labresult_change", args=[result.pk]),
        reverse("admin:tracker_scheduledlab_change", args=[lab.pk]),
    ]


def test_other_centers_urls_are_404(client, coordinator_a, coordinator_b, center_a):
    j = _patient_with_work(center_a, ft.therapy())
    otp_login(client, coordinator_b)
    for url in _urls(j):
        assert client.get(url).status_code == 404, url
    otp_login(client, coordinator_a)
    for url in _urls(j):
        assert client.get(url).status_code == 200, url


def test_plan_and_print_pages_show_urgent_signs_and_phones(client, coordinator_a, center_a):
    therapy = Therapy.objects.get(slug="zolgensma")
    patient = f.PatientFactory(center=center_a, date_of_birth=dt.date(2025, 6, 1))
    j = f.JourneyFactory(patient=patient, therapy=therapy, infusion_date=DAY0)
    services.generate_plan(j, reason="test")
    otp_login(client, coordinator_a)
    plan_page = reverse("admin:tracker_monitoringplan_change", args=[j.monitoring_plan.pk])
    print_page = reverse("admin:tracker_plan_print", args=[j.pk])
    for url in (plan_page, print_page):
        text = client.get(url).text
        assert therapy.urgent_symptoms[0]["en"] in text
        assert center_a.main_phone in text and center_a.after_hours_phone in text
        assert "911" in text
    printed = client.get(print_page).text
    assert "tracker/plan-print.css" in printed and "Liver" in printed


def _entry_post(client, j, **values):
    data = {"collected_on": "2026-03-02", "collected_time": "08:30"}
    for code in ("ALT", "AST", "TBIL", "INR", "CREAT", "PLT", "TNI"):
        data[f"{code}_value"] = ""
        data[f"{code}_unit"] = {
            "TBIL": "mg/dL",
            "INR": "ratio",
            "CREAT": "mg/dL",
            "PLT": "10^9/L",
            "TNI": "ng/L",
        }.get(code, "U/L")
    data.update(values)
    return client.post(reverse("admin:tracker_enter_results", args=[j.pk]), data)


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"PLT_value": "lots"}, "PLT_value", "Enter a number"),
        ({"PLT_value": "-3"}, "PLT_value", "cannot be negative"),
        ({"PLT_value": "1000000000"}, "PLT_value", "not a possible PLT result"),
        ({"PLT_value": "200", "PLT_unit": "mg/dL"}, "PLT_unit", "Select a valid choice"),
        ({"PLT_value": "200", "collected_on": "2026-03-09"}, "collected_on", "future"),
    ],
)
def test_enter_results_bad_input_is_shown_by_the_field(
    client, coordinator_a, center_a, values, field, message
):
    j = _patient_with_work(center_a, ft.therapy())
    otp_login(client, coordinator_a)
    response = _entry_post(client, j, ALT_value="41", **values)
    assert response.status_code == 200
    form = response.context["form"]
    assert message in " ".join(form.errors.get(field or "__all__", []))
    assert 'value="41"' in response.text  # what was typed stays
    assert LabResult.objects.filter(journey=j).count() == 1


def test_enter_results_saves_and_completes_the_draw(client, coordinator_a, center_a):
    j = _patient_with_work(center_a, ft.therapy())
    otp_login(client, coordinator_a)
    response = _entry_post(
        client, j, PLT_value="180000", PLT_unit="/uL", TNI_value="0.01", TNI_unit="ng/mL"
    )
    assert response.status_code == 302
    plt = LabResult.objects.get(journey=j, test__code="PLT", collected_at__date=TODAY)
    assert (plt.value, plt.value_entered, plt.unit_entered, plt.flag) == (
        180,
        "180000",
        "/uL",
        "normal",
    )
    assert plt.entered_by == coordinator_a
    assert plt.collected_at == timezone.make_aware(
        dt.datetime(2026, 3, 2, 8, 30), dt.timezone(dt.timedelta(hours=-5))
    )
    assert plt.scheduled_lab.item.code == "platelets"
    assert plt.scheduled_lab.done_at is not None


def test_enter_results_with_nothing_typed(client, coordinator_a, center_a):
    j = _patient_with_work(center_a, ft.therapy())
    otp_login(client, coordinator_a)
    response = _entry_post(client, j)
    assert "Type at least one result" in " ".join(response.context["form"].non_field_errors())
