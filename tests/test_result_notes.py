"""Issue 16 item 2: results with context.

A coordinator writes a plain-language note for the family on a result or a draw (audited,
corrected with its old text kept); the family's labs page shows it beside the result or the
draw, with "your care team has been told" / "saw this on" for an abnormal result. The staff
review note never reaches the family. A center whose policy allows may hold flagged results
until review; the "who can see this" page says which.
"""

import datetime as dt
import re

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from journey.models import ResultRelease
from tests import factories_portal_tracker as fp
from tests.conftest import otp_login
from tracker import services
from tracker.models import FamilyNote, FamilyNoteRevision, ScheduledLab

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 1, 25, 15, tzinfo=dt.UTC)
STAFF_NOTE = "Hepatology aware; repeat LFT if > 200"


@pytest.fixture
def family(center_a):
    guardian = fp.guardian_with_login(center_a, "parent.notes@example.org")
    child, journey = fp.child_of(guardian, first_name="Maya")
    fp.record(journey, 7, [("ALT", "31", "U/L")])
    (high,) = fp.record(journey, 14, [("ALT", "120", "U/L")])
    return guardian, child, journey, high


def _text(html):
    html = re.sub(r"<(style|svg)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#x27;", "'")


def _labs(client, guardian, child):
    client.force_login(guardian.user)
    with time_machine.travel(NOW, tick=False):
        response = client.get(reverse("portal_tracker:labs", args=[child.public_id]))
    assert response.status_code == 200
    return response.content.decode()


def _draw_day(journey):
    return ScheduledLab.objects.filter(journey=journey, due_on__lt=NOW.date()).last().due_on


# ---------------------------------------------------------------- the service


def test_a_note_is_corrected_with_a_reason_and_its_old_text_kept(family, coordinator_a):
    _g, _c, journey, high = family
    note = services.write_note(journey, result=high, text="A little high.", by=coordinator_a)
    with pytest.raises(ValidationError) as error:
        services.write_note(journey, result=high, text="As expected.", by=coordinator_a)
    assert "reason" in error.value.message_dict
    services.write_note(
        journey, result=high, text="As expected in week 2.", by=coordinator_a, reason="clearer"
    )
    note.refresh_from_db()
    assert note.text == "As expected in week 2."
    history = list(note.revisions.values_list("text", "reason", "written_by"))
    assert history == [
        ("A little high.", "", coordinator_a.pk),
        ("As expected in week 2.", "clearer", coordinator_a.pk),
    ]
    # The same text again changes nothing.
    services.write_note(journey, result=high, text="As expected in week 2.", by=coordinator_a)
    assert FamilyNoteRevision.objects.count() == 2


def test_a_note_needs_text_and_a_real_draw_or_current_result(family, coordinator_a):
    _g, _c, journey, high = family
    with pytest.raises(ValidationError):
        services.write_note(journey, result=high, text="   ", by=coordinator_a)
    with pytest.raises(ValidationError):
        services.write_note(journey, due_on=dt.date(2020, 1, 1), text="x", by=coordinator_a)
    other = fp.child_of(fp.guardian_with_login(journey.center, "other@example.org"))[1]
    with pytest.raises(ValidationError):
        services.write_note(other, result=high, text="wrong child", by=coordinator_a)
    assert not FamilyNote.objects.exists()


def test_one_note_per_draw_in_the_database(family, coordinator_a):
    _g, _c, journey, _high = family
    day = _draw_day(journey)
    services.write_note(journey, due_on=day, text="Done at the local lab.", by=coordinator_a)
    with pytest.raises(IntegrityError), transaction.atomic():
        FamilyNote.objects.create(
            journey=journey, due_on=day, text="again", written_by=coordinator_a, written_at=NOW
        )


def test_the_note_follows_its_result_through_a_correction(family, coordinator_a):
    _g, _c, journey, high = family
    services.write_note(journey, result=high, text="A little high.", by=coordinator_a)
    new = services.correct_result(high, "125", "U/L", by=coordinator_a, reason="typo")
    assert FamilyNote.objects.get().result == new


def test_notes_are_in_the_audit_trail(family, coordinator_a):
    from audit.models import AuditRecord

    _g, _c, journey, high = family
    services.write_note(journey, result=high, text="A little high.", by=coordinator_a)
    models = set(AuditRecord.objects.values_list("content_type__model", flat=True))
    assert {"familynote", "familynoterevision"} <= models


# ---------------------------------------------------------------- the admin pages


def test_a_coordinator_writes_and_corrects_a_note_in_the_admin(client, family, coordinator_a):
    _g, _c, journey, high = family
    services.review_result(high, by=coordinator_a, note=STAFF_NOTE)
    url = reverse("admin:tracker_labresult_note", args=[high.pk])
    otp_login(client, coordinator_a)
    page = client.get(url).content.decode()
    assert "staff only" in page and "Hepatology aware" in page
    assert client.post(url, {"text": "A little high, as expected."}).status_code == 302
    response = client.post(url, {"text": "As expected in week 2."})
    assert response.status_code == 200 and "Please give a reason" in response.content.decode()
    client.post(url, {"text": "As expected in week 2.", "reason": "clearer"})
    page = client.get(url).content.decode()
    assert "A little high, as expected." in page and "clearer" in page  # the history
    assert FamilyNote.objects.get().text == "As expected in week 2."


def test_a_draw_note_from_the_worklist(client, family, coordinator_a):
    _g, _c, journey, _high = family
    lab = ScheduledLab.objects.filter(journey=journey, due_on=_draw_day(journey)).first()
    url = reverse("admin:tracker_draw_note", args=[lab.public_id])
    otp_login(client, coordinator_a)
    with time_machine.travel(NOW, tick=False):
        worklist = client.get(reverse("admin:tracker_worklist_changelist")).content.decode()
    assert "/family-note/" in worklist  # each draw row and each result to review links here
    client.post(url, {"text": "The lab was closed; we moved it to Monday."})
    assert FamilyNote.objects.get(due_on=lab.due_on).text.startswith("The lab was closed")


def test_another_centers_coordinator_gets_404(client, family, coordinator_b):
    _g, _c, journey, high = family
    lab = ScheduledLab.objects.filter(journey=journey).first()
    otp_login(client, coordinator_b)
    for url in (
        reverse("admin:tracker_labresult_note", args=[high.pk]),
        reverse("admin:tracker_draw_note", args=[lab.public_id]),
    ):
        assert client.get(url).status_code == 404
        assert client.post(url, {"text": "not mine"}).status_code == 404
    assert not FamilyNote.objects.exists()


# ---------------------------------------------------------------- the family's labs page


def test_the_family_sees_told_then_saw_and_the_note_never_the_staff_note(
    client, family, coordinator_a
):
    guardian, child, journey, high = family
    text = _text(_labs(client, guardian, child))
    assert "Your care team has been told about this result." in text
    assert "saw this on" not in text
    services.review_result(high, by=coordinator_a, note=STAFF_NOTE, now=NOW)
    services.write_note(
        journey, result=high, text="ALT is a little higher, as expected.", by=coordinator_a
    )
    html = _labs(client, guardian, child)
    text = _text(html)
    assert "Your care team saw this on Jan. 25, 2026." in text
    assert "has been told" not in text
    assert "Note from your care team: ALT is a little higher, as expected." in text
    assert "Hepatology" not in html and STAFF_NOTE not in html
    # Normal results get no acknowledgement line.
    assert text.count("saw this on") == 2  # the latest result and the same one by day


def test_a_draw_note_is_shown_with_its_day(client, family, coordinator_a):
    guardian, child, journey, _high = family
    day = _draw_day(journey)
    services.write_note(journey, due_on=day, text="Drawn at the local lab.", by=coordinator_a)
    text = _text(_labs(client, guardian, child))
    assert "Notes from your care team" in text
    assert "Drawn at the local lab." in text


def test_a_note_is_escaped(client, family, coordinator_a):
    guardian, child, journey, high = family
    services.write_note(journey, result=high, text="<script>x()</script>", by=coordinator_a)
    html = _labs(client, guardian, child)
    assert "<script>x()" not in html and "&lt;script&gt;" in html


# ---------------------------------------------------------------- the release policy


def _hold(center):
    center.result_release = ResultRelease.FLAGGED_AFTER_REVIEW
    center.result_release_policy = "Lab results policy 4.2"
    center.save()


def test_holding_results_needs_a_named_policy(center_a):
    center_a.result_release = ResultRelease.FLAGGED_AFTER_REVIEW
    with pytest.raises(IntegrityError), transaction.atomic():
        center_a.save()


def test_immediate_release_shows_a_flagged_result_at_once(client, family):
    guardian, child, _j, _high = family
    html = _labs(client, guardian, child)
    assert "120 U/L" in _text(html) and "being reviewed" not in html


def test_a_held_result_shows_no_value_until_reviewed(client, family, coordinator_a):
    guardian, child, journey, high = family
    _hold(journey.center)
    html = _labs(client, guardian, child)
    text = _text(html)
    assert "120" not in text
    assert "A result is being reviewed by your care team." in text
    assert "31 U/L" in text  # the normal result still shows, in its chart too
    chart = html[html.index("How results changed over time") :]
    assert "31 U/L" in chart and "120" not in chart
    services.review_result(high, by=coordinator_a, note=STAFF_NOTE, now=NOW)
    text = _text(_labs(client, guardian, child))
    assert "120 U/L" in text and "being reviewed" not in text
    assert "Your care team saw this on" in text


def test_who_can_see_this_says_when_results_appear(client, family):
    guardian, child, journey, _high = family
    client.force_login(guardian.user)
    url = reverse("portal:people", args=[child.public_id])
    text = _text(client.get(url).content.decode())
    assert "as soon as the care team enters it" in text
    _hold(journey.center)
    text = _text(client.get(url).content.decode())
    assert "once your care team at Center A has reviewed it" in text
    assert "Lab results policy 4.2" in text


def test_the_family_page_speaks_spanish(client, family, coordinator_a):
    guardian, child, journey, high = family
    guardian.language = "es"
    guardian.save()
    services.write_note(journey, result=high, text="Un poco alto.", by=coordinator_a)
    client.force_login(guardian.user)
    with translation.override("es"), time_machine.travel(NOW, tick=False):
        response = client.get(
            reverse("portal_tracker:labs", args=[child.public_id]), HTTP_ACCEPT_LANGUAGE="es"
        )
    text = _text(response.content.decode())
    assert "Nota de su equipo de atención:" in text
    assert "Se ha avisado a su equipo de atención de este resultado." in text


def test_the_labs_page_costs_the_same_with_notes_and_held_results(client, family, coordinator_a):
    """As many queries with notes and held results as without (the notes, the review time and
    the center's choice come in the page's own queries: tests/test_portal_tracker_queries.py)."""
    guardian, child, journey, high = family
    client.force_login(guardian.user)
    url = reverse("portal_tracker:labs", args=[child.public_id])

    def count():
        with time_machine.travel(NOW, tick=False), CaptureQueriesContext(connection) as seen:
            assert client.get(url).status_code == 200
        return len(seen)

    count()
    before = count()
    _hold(journey.center)
    services.write_note(journey, result=high, text="A little high.", by=coordinator_a)
    services.write_note(journey, due_on=_draw_day(journey), text="Moved.", by=coordinator_a)
    fp.record(journey, 21, [("ALT", "140", "U/L"), ("PLT", "240", "10^9/L")])
    assert count() == before


def test_a_held_result_is_in_no_other_family_page_until_reviewed(client, family, coordinator_a):
    """The emergency card, the printable record and its FHIR download hold it too."""
    guardian, child, journey, high = family
    _hold(journey.center)
    client.force_login(guardian.user)
    urls = [
        reverse("portal:card", args=[child.public_id]),
        reverse("portal_tracker:record", args=[child.public_id]),
        reverse("portal_tracker:record_fhir", args=[child.public_id]),
    ]

    def pages():
        with time_machine.travel(NOW, tick=False):
            return [client.get(url).content.decode() for url in urls]

    def values(page):
        """The result values a page shows: words of its text, not digits inside an id (a
        random UUID or timestamp in the FHIR download may hold "120")."""
        found = re.findall(r"(?<![\w.-])\d+(?:\.\d+)?(?![\w.-])", _text(page))
        return {f"{float(number):g}" for number in found}  # 120.0 reads as 120

    for page in pages():
        assert "120" not in values(page) and "31" in values(page)
    services.review_result(high, by=coordinator_a, note=STAFF_NOTE, now=NOW)
    for page in pages():
        assert "120" in values(page) and STAFF_NOTE not in page
