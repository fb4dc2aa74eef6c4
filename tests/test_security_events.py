"""Second-factor steps reach the audit trail through journey's security_event signal."""

from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AuditRecord, Event
from journey.security.two_factor import new_backup_codes
from tests.factories_portal import family
from tests.test_security_auth import code_for


def _events(user):
    records = AuditRecord.objects.filter(actor=user).order_by("pk")
    return list(records.values_list("event", flat=True))


def test_a_passed_then_failed_code_is_recorded(client, coordinator_a):
    TOTPDevice.objects.create(user=coordinator_a, name="phone", confirmed=True)
    code = new_backup_codes(coordinator_a)[0]
    client.force_login(coordinator_a)
    client.post(reverse("two_factor:verify"), {"token": code}, REMOTE_ADDR="203.0.113.7")
    client.post(reverse("two_factor:verify"), {"token": "000000"})
    assert _events(coordinator_a)[-2:] == [Event.OTP_VERIFIED, Event.OTP_FAILED]
    passed = AuditRecord.objects.get(event=Event.OTP_VERIFIED)
    assert passed.object_pk == str(coordinator_a.pk) and passed.actor_email == coordinator_a.email
    assert passed.remote_addr == "203.0.113.7" and passed.path == reverse("two_factor:verify")


def test_turning_on_renewing_and_off_are_recorded(client, center_a):
    guardian, _child = family(center_a)
    user = guardian.user
    client.force_login(user)
    client.get(reverse("two_factor:setup"))
    device = TOTPDevice.objects.get(user=user)
    client.post(reverse("two_factor:setup"), {"token": code_for(device)})
    client.post(reverse("two_factor:backup_codes"))
    client.post(reverse("two_factor:disable"))
    assert _events(user)[-4:] == [
        Event.OTP_VERIFIED,
        Event.OTP_ENABLED,
        Event.BACKUP_CODES_RENEWED,
        Event.OTP_DISABLED,
    ]
