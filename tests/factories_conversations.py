"""Builders for the message tests: Mia's two guardians (A and A2) and Leo's guardian B at
center A, a fixed Monday morning in New York, and helpers that write as the portal does."""

import datetime as dt

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.factories import GuardianshipFactory
from tests.factories_portal import LinkedGuardianFactory, family

# Monday 1 December 2025, 10:00 in New York: inside the center's business hours.
NOW = dt.datetime(2025, 12, 1, 15, 0, tzinfo=dt.UTC)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64
SECRET = "Her rash is back after the infusion"  # must never leave the login


def mia_family(center):
    guardian, child = family(center, first_name="Mia", email="ana@example.org")
    second = LinkedGuardianFactory(center=center, email="dan@example.org")
    GuardianshipFactory(guardian=second, patient=child)
    return guardian, second, child


def leo_guardian(center):
    return family(center, first_name="Leo", email="ben@example.org")[0]


def upload(content=PDF, name="Mia rash.pdf", content_type="application/pdf"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def list_url(child):
    return reverse("portal_messages:list", args=[child.public_id])


def new_url(child):
    return reverse("portal_messages:new", args=[child.public_id])


def thread_url(thread):
    return reverse("portal_messages:thread", args=[thread.patient.public_id, thread.public_id])


def file_url(message):
    thread = message.thread
    args = [thread.patient.public_id, thread.public_id, message.public_id]
    return reverse("portal_messages:file", args=args)


def admin_thread_url(thread):
    return reverse("admin:conversations_thread_change", args=[thread.pk])


def admin_file_url(message):
    return reverse("admin:conversations_thread_file", args=[message.thread_id, message.public_id])
