"""Text messages, issue 16 item 3: per-kind channels, numbers confirmed by a code, the inbound
webhook (signature, STOP/START/HELP), and what a text may say.

GIVEN guardian A (New York) with Mia, a lab draw on Thu 4 Dec 2025, and guardian B with Leo
WHEN  A enters a number, confirms it, chooses texts for some kinds, replies STOP or START
THEN  reminders go by the channels chosen only while the number is confirmed and not stopped,
      codes are hashed, expire, allow few tries and few sends, the webhook answers 403 to an
      unsigned post, texts say nothing about health, and B only ever gets 404s.
"""

import datetime as dt

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse
from twilio.request_validator import RequestValidator

from journey.models import Stage
from journey.models.people import Language
from notifications import planning, services
from notifications.models import Channel, Kind, NumberEvent, Preference, Reminder, Status
from notifications.sms import numbers, texts
from notifications.sms.forms import NumberForm
from notifications.sms.models import NumberStatus, TextNumber
from tests import factories as f
from tests import factories_notifications as fn
from tests.factories_portal import family
from tests.factories_sms import MOBILE, confirmed, outbox  # noqa: F401
from tests.fake_twilio import TOKEN

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 12, 1, 15, 0, tzinfo=dt.UTC)
LAB_DAY = dt.date(2025, 12, 4)
INBOUND = "/sms/inbound/"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def mia(center_a):
    guardian, child = family(center_a, first_name="Mia", time_zone="America/New_York")
    journey = f.JourneyFactory(patient=child, center=center_a, stage=Stage.MONITORING)
    lab = fn.LabFactory(item=fn.ItemFactory(plan=fn.PlanFactory(journey=journey)), due_on=LAB_DAY)
    return guardian, child, lab


@pytest.fixture
def leo(center_a):
    return family(center_a, first_name="Leo", email="ben@example.org")


def url(name, child):
    return reverse(name, kwargs={"public_id": child.public_id})


def channels(guardian):
    rows = Reminder.objects.filter(guardian=guardian, kind=Kind.LAB_REMINDER)
    return {(r.channel, r.status) for r in rows}


# ---- per-kind channels (planning) ----


def _prefs(**kw):
    return planning.Prefs(can_text=True, **kw)


@pytest.mark.parametrize(
    ("choice", "can_text", "expected"),
    [
        ("email", True, ("email",)),
        ("sms", True, ("sms",)),
        ("both", True, ("email", "sms")),
        ("sms", False, ("email",)),  # no confirmed number: never lost, by email
        ("both", False, ("email",)),
    ],
)
def test_each_kind_follows_its_own_choice(choice, can_text, expected):
    prefs = planning.Prefs(lab_channel=choice, can_text=can_text)
    assert planning.channels_for(prefs, Kind.LAB_REMINDER) == expected
    assert planning.channels_for(prefs, Kind.OVERDUE_NUDGE) == expected
    assert planning.channels_for(prefs, Kind.STAGE_CHANGED) == ("email",)
    assert planning.channels_for(prefs, Kind.STEP_DUE) == ("email",)


def test_fan_out_keys_differ_by_channel_and_keep_the_send_time():
    prefs = _prefs(lab_channel="both", stage_channel="sms", quiet=(dt.time(8), dt.time(12)))
    guardian = planning.Recipient("g", 7, "America/New_York", prefs, primary=True)
    coordinator = planning.Recipient("u", 3, "America/Chicago")
    inputs = planning.PatientInputs(1, 1, 1, guardians=[guardian], coordinators=[coordinator])
    inputs.labs = [planning.Lab(5, LAB_DAY, LAB_DAY, journey_id=1)]
    inputs.stage_notes = [planning.StageNote(9, NOW - dt.timedelta(minutes=1))]
    out = planning.plan_patient(inputs, NOW)
    labs = {d.channel: d for d in out if d.kind == Kind.LAB_REMINDER}
    assert set(labs) == {"email", "sms"}
    assert labs["sms"].key == "sms:" + labs["email"].key
    assert labs["sms"].send_at == labs["email"].send_at
    stage = [d for d in out if d.kind == Kind.STAGE_CHANGED]
    assert [d.channel for d in stage] == ["sms"]
    # 10:00 New York is inside the 08:00-12:00 quiet hours: the text waits, as the email would.
    assert stage[0].send_at == dt.datetime(2025, 12, 1, 17, 0, tzinfo=dt.UTC)
    assert all(d.channel == "email" for d in out if d.recipient.role == "u")


def test_reconcile_writes_text_rows_only_for_a_confirmed_number(mia):
    guardian, child, _lab = mia
    Preference.objects.create(guardian=guardian, patient=child, lab_channel="both")
    services.reconcile([child.pk])
    assert channels(guardian) == {(Channel.EMAIL, Status.PENDING)}
    number = confirmed(guardian)
    services.reconcile([child.pk])
    assert channels(guardian) == {(Channel.EMAIL, Status.PENDING), (Channel.SMS, Status.PENDING)}
    text = Reminder.objects.get(guardian=guardian, channel=Channel.SMS, kind=Kind.LAB_REMINDER)
    assert text.key.startswith(f"sms:g{guardian.pk}:lab_reminder:")
    number.status = NumberStatus.STOPPED
    number.save()
    services.reconcile([child.pk])
    assert channels(guardian) == {(Channel.EMAIL, Status.PENDING), (Channel.SMS, Status.CANCELLED)}


def test_texts_only_replaces_the_email(mia):
    guardian, child, _lab = mia
    services.reconcile([child.pk])
    confirmed(guardian)
    services.save_preferences(guardian, child, {"lab_channel": "sms"})
    assert channels(guardian) == {(Channel.EMAIL, Status.CANCELLED), (Channel.SMS, Status.PENDING)}


def test_the_settings_form_saves_the_channels(client, mia):
    guardian, child, _lab = mia
    confirmed(guardian)
    client.force_login(guardian.user)
    data = {"lead_days": "1", "local_hour": "9", "time_zone": "America/New_York",
            "lab_reminders": "on", "lab_channel": "sms", "stage_channel": "both"}  # fmt: skip
    response = client.post(url("portal_notifications:settings", child), data)
    assert response.status_code == 302
    pref = Preference.objects.get(guardian=guardian, patient=child)
    assert (pref.lab_channel, pref.stage_channel, pref.messages_channel) == ("sms", "both", "email")
    assert channels(guardian) == {(Channel.SMS, Status.PENDING)}
    bad = client.post(url("portal_notifications:settings", child), {**data, "lab_channel": "fax"})
    assert bad.status_code == 200 and b"field--error" in bad.content


# ---- the number: E.164 and the code ----


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("+1 617 555 0100", MOBILE), ("(617) 555-0100", MOBILE), ("+44 7911 123456", "+447911123456")],
)
def test_numbers_are_stored_in_e164(typed, stored):
    form = NumberForm({"number": typed})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["number"].as_e164 == stored


@pytest.mark.parametrize("typed", ["12345", "+1 555 0100", "call me", "+1 617 555 0100 99999"])
def test_numbers_that_are_not_numbers_are_refused(typed):
    assert not NumberForm({"number": typed}).is_valid()


def _code(outbox):  # noqa: F811
    return outbox[-1]["body"].split("code is ")[1][:6]


def test_a_number_takes_texts_only_after_its_code(client, mia, outbox):  # noqa: F811
    guardian, child, _lab = mia
    client.force_login(guardian.user)
    response = client.post(url("portal_notifications:phone", child), {"number": "(617) 555-0100"})
    assert response.status_code == 302
    number = TextNumber.objects.get(guardian=guardian)
    assert str(number.number) == MOBILE and number.status == NumberStatus.UNCONFIRMED
    assert outbox[-1]["to"] == MOBILE
    code = _code(outbox)
    assert code not in number.code_hash and len(number.code_hash) == 64
    wrong = "000000" if code != "000000" else "111111"
    client.post(url("portal_notifications:phone_confirm", child), {"code": wrong})
    number.refresh_from_db()
    assert number.status == NumberStatus.UNCONFIRMED and number.code_attempts == 1
    page = client.post(
        url("portal_notifications:phone_confirm", child), {"code": code}, follow=True
    )
    number.refresh_from_db()
    assert number.status == NumberStatus.ACTIVE and number.confirmed_at == NOW
    assert "Your number is confirmed" in page.content.decode()
    events = list(NumberEvent.objects.values_list("event", flat=True))
    assert events == ["set", "wrong_code", "confirmed"]


def test_a_code_expires_after_ten_minutes(mia, outbox, frozen):  # noqa: F811
    guardian = mia[0]
    numbers.set_number(guardian, MOBILE)
    code = _code(outbox)
    frozen.shift(dt.timedelta(minutes=10, seconds=1))
    with pytest.raises(numbers.NumberError) as error:
        numbers.confirm(guardian, code)
    assert error.value.reason == "expired"


def test_five_wrong_tries_void_the_code(mia, outbox):  # noqa: F811
    guardian = mia[0]
    numbers.set_number(guardian, MOBILE)
    code = _code(outbox)
    wrong = "000000" if code != "000000" else "111111"
    reasons = []
    for _ in range(5):
        with pytest.raises(numbers.NumberError) as error:
            numbers.confirm(guardian, wrong)
        reasons.append(error.value.reason)
    assert reasons == ["wrong"] * 4 + ["expired"]
    with pytest.raises(numbers.NumberError):
        numbers.confirm(guardian, code)  # even the right one, now
    numbers.send_again(guardian)
    assert numbers.confirm(guardian, _code(outbox)).status == NumberStatus.ACTIVE


def test_codes_are_rate_limited_per_hour(mia, outbox, frozen):  # noqa: F811
    guardian = mia[0]
    numbers.set_number(guardian, MOBILE)
    numbers.send_again(guardian)
    numbers.send_again(guardian)
    with pytest.raises(numbers.NumberError) as error:
        numbers.send_again(guardian)
    assert error.value.reason == "too_many" and len(outbox) == 3
    with pytest.raises(numbers.NumberError):
        numbers.set_number(guardian, "+16175550199")  # a new number is no way around it
    frozen.shift(dt.timedelta(hours=1))
    numbers.send_again(guardian)
    assert len(outbox) == 4


def test_removing_the_number_hands_texts_back_to_email(client, mia):
    guardian, child, _lab = mia
    confirmed(guardian)
    Preference.objects.create(guardian=guardian, patient=child, lab_channel="sms")
    services.reconcile([child.pk])
    client.force_login(guardian.user)
    client.post(url("portal_notifications:phone_remove", child))
    assert not TextNumber.objects.exists()
    assert channels(guardian) == {(Channel.EMAIL, Status.PENDING), (Channel.SMS, Status.CANCELLED)}
    assert NumberEvent.objects.filter(event="removed").exists()


PHONE_PAGES = [
    ("portal_notifications:phone", {"number": "+16175550100"}),
    ("portal_notifications:phone_confirm", {"code": "123456"}),
    ("portal_notifications:phone_resend", {}),
    ("portal_notifications:phone_remove", {}),
]


@pytest.mark.parametrize(("name", "data"), PHONE_PAGES)
def test_another_guardians_child_is_404_and_changes_nothing(client, mia, leo, outbox, name, data):  # noqa: F811
    confirmed(leo[0], number="+16175550111")
    client.force_login(leo[0].user)
    assert client.post(url(name, mia[1]), data).status_code == 404
    assert client.get(url(name, leo[1])).status_code == 405
    assert TextNumber.objects.get().status == NumberStatus.ACTIVE and not outbox


def test_the_settings_page_shows_the_number_in_few_queries(
    client, mia, django_assert_max_num_queries
):
    guardian, child, _lab = mia
    confirmed(guardian)
    client.force_login(guardian.user)
    with django_assert_max_num_queries(14):
        html = client.get(url("portal_notifications:settings", child)).content.decode()
    assert "+1 617-555-0100" in html and "Confirmed: texts go out" in html
    assert 'name="lab_channel"' in html


# ---- the inbound webhook ----


@pytest.fixture
def signed(client, settings):
    settings.TWILIO_AUTH_TOKEN = TOKEN

    def post(body, number=MOBILE, signature=None):
        params = {"From": number, "To": "+15005550006", "Body": body, "MessageSid": "SM1"}
        full = f"{settings.SITE_URL}{INBOUND}"
        signature = signature or RequestValidator(TOKEN).compute_signature(full, params)
        return client.post(INBOUND, params, HTTP_X_TWILIO_SIGNATURE=signature)

    return post


def test_an_unsigned_or_badly_signed_post_is_403(client, signed, mia):
    number = confirmed(mia[0])
    assert signed("STOP", signature="bm90IGEgc2lnbmF0dXJl").status_code == 403
    assert client.post(INBOUND, {"From": MOBILE, "Body": "STOP"}).status_code == 403
    assert client.get(INBOUND).status_code == 405
    number.refresh_from_db()
    assert number.status == NumberStatus.ACTIVE and not NumberEvent.objects.exists()


@pytest.mark.parametrize("body", ["STOP", "stop", " Unsubscribe ", "quit please"])
def test_stop_stops_texts_and_start_brings_them_back(signed, mia, body):
    guardian, child, _lab = mia
    number = confirmed(guardian)
    Preference.objects.create(guardian=guardian, patient=child, lab_channel="sms")
    services.reconcile([child.pk])
    response = signed(body)
    assert response.status_code == 200 and response["Content-Type"] == "text/xml"
    assert "you will get no more texts" in response.content.decode()
    number.refresh_from_db()
    assert number.status == NumberStatus.STOPPED
    assert channels(guardian) == {(Channel.EMAIL, Status.PENDING), (Channel.SMS, Status.CANCELLED)}
    response = signed("START")
    assert "texts are on again" in response.content.decode()
    number.refresh_from_db()
    assert number.status == NumberStatus.ACTIVE
    assert (Channel.SMS, Status.PENDING) in channels(guardian)
    assert list(NumberEvent.objects.values_list("event", flat=True)) == ["stop", "start"]


def test_help_answers_and_changes_nothing(signed, mia):
    number = confirmed(mia[0])
    body = signed("help").content.decode()
    assert "Call your care team" in body and "Reply STOP" in body
    number.refresh_from_db()
    assert number.status == NumberStatus.ACTIVE


def test_an_unknown_number_or_word_gets_an_empty_answer(signed, mia):
    confirmed(mia[0])
    assert "<Message>" not in signed("STOP", number="+16175550199").content.decode()
    assert "<Message>" not in signed("thanks!").content.decode()
    assert TextNumber.objects.get().status == NumberStatus.ACTIVE


def test_the_reply_is_in_the_guardians_language(signed, mia):
    guardian = mia[0]
    guardian.language = Language.SPANISH
    guardian.save()
    confirmed(guardian)
    assert "Waypoint: no recibirá más mensajes" in signed("STOP").content.decode()


# ---- what a text says ----


@pytest.mark.parametrize("kind", [Kind.LAB_REMINDER, Kind.STEP_DUE, Kind.OVERDUE_NUDGE,
                                  Kind.OVERDUE_OTHER_GUARDIAN, Kind.STAGE_CHANGED])  # fmt: skip
def test_a_text_says_when_and_where_to_look_never_what(kind):
    family_ = fn.Family(father_tz=None)
    lab = family_.lab(LAB_DAY)
    row = Reminder(
        key="k", kind=kind, channel=Channel.SMS, guardian=family_.mother, center=family_.center,
        patient=family_.patient, scheduled_lab=lab, due_on=dt.date(2025, 12, 2), send_at=NOW,
        time_zone="America/New_York",
    )  # fmt: skip
    body = texts.body(row, NOW)
    assert body.startswith("Waypoint: ") and f"Details: {settings.SITE_URL}/portal/" in body
    assert len(body) <= 160  # one SMS segment
    for secret in ("Mia", "Liver", "ALT", lab.item.title, family_.center.name, "Dec", "2025"):
        assert secret not in body
    if kind in (Kind.LAB_REMINDER, Kind.STEP_DUE):
        assert body.startswith("Waypoint: a reminder for tomorrow. Details: ")
