"""The text-number admin: read only, guardians of the coordinator's centers only (404 outside),
linked from the guardian's page, cheap lists."""

import pytest
from django.utils import timezone

from notifications.sms.models import NumberEvent, NumberStatus
from tests import factories as f
from tests.conftest import otp_login
from tests.factories_sms import confirmed

pytestmark = pytest.mark.django_db


def _number(center, mobile, status=NumberStatus.ACTIVE):
    guardian = f.GuardianFactory(center=center, full_name=f"Parent {mobile[-4:]}")
    row = confirmed(guardian, number=mobile, status=status)
    NumberEvent.objects.create(
        guardian=guardian, number=mobile, event=NumberEvent.Event.STOP, detail="STOP",
        at=timezone.now(),
    )  # fmt: skip
    return row


@pytest.fixture
def numbers(center_a, center_b):
    return _number(center_a, "+16175550111"), _number(center_b, "+16175550122")


def test_a_coordinator_lists_only_their_centers_numbers_and_events(client, coordinator_a, numbers):
    otp_login(client, coordinator_a)
    numbers_page = client.get("/admin/notifications/textnumber/").content.decode()
    events_page = client.get("/admin/notifications/numberevent/").content.decode()
    for page in (numbers_page, events_page):
        assert "Parent 0111" in page and "Parent 0122" not in page
    assert "Replied STOP" in events_page


def test_another_centers_number_and_event_answer_404(client, coordinator_a, numbers):
    otp_login(client, coordinator_a)
    mine, theirs = numbers
    event = NumberEvent.objects.get(guardian=theirs.guardian)
    assert client.get(f"/admin/notifications/textnumber/{mine.pk}/change/").status_code == 200
    assert client.get(f"/admin/notifications/textnumber/{theirs.pk}/change/").status_code == 404
    assert client.get(f"/admin/notifications/numberevent/{event.pk}/change/").status_code == 404


def test_the_number_page_is_read_only_and_hides_the_code(client, coordinator_a, numbers):
    otp_login(client, coordinator_a)
    mine = numbers[0]
    mine.code_hash = "c0ffee" * 10
    mine.save()
    url = f"/admin/notifications/textnumber/{mine.pk}/change/"
    page = client.get(url).content.decode()
    assert "c0ffee" not in page and 'name="_save"' not in page
    assert f"numberevent/?guardian__id__exact={mine.guardian_id}" in page
    assert client.post(url, {"status": "stopped"}).status_code == 403
    assert client.get("/admin/notifications/textnumber/add/").status_code == 403
    mine.refresh_from_db()
    assert mine.status == NumberStatus.ACTIVE


def test_the_guardian_page_links_to_their_text_number(client, coordinator_a, numbers):
    otp_login(client, coordinator_a)
    guardian = numbers[0].guardian
    page = client.get(f"/admin/journey/guardian/{guardian.pk}/change/").content.decode()
    link = f"/admin/notifications/textnumber/?guardian__id__exact={guardian.pk}"
    assert link in page
    listed = client.get(link).content.decode()
    assert "Parent 0111" in listed and "+16175550111" in listed


def test_the_lists_do_not_grow_queries_per_row(
    client, coordinator_a, center_a, django_assert_max_num_queries
):
    otp_login(client, coordinator_a)
    for i in range(2):
        _number(center_a, f"+1617555020{i}")
    with django_assert_max_num_queries(40) as few:
        client.get("/admin/notifications/textnumber/")
        client.get("/admin/notifications/numberevent/")
    for i in range(2, 20):
        _number(center_a, f"+161755502{i:02d}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/admin/notifications/textnumber/")
        client.get("/admin/notifications/numberevent/")
