"""Portal personas: two families at center A (guardian A and B) and a coordinator.

Import the fixtures into a test module: `from tests.factories_portal import *  # noqa`.
"""

import datetime as dt

import factory
import pytest
from django.utils import timezone

from journey import models as m
from journey import services
from tests import factories as f

PASSWORD = "correct horse battery"


class GuardianUserFactory(f.UserFactory):
    """The login of a guardian (not staff)."""

    email = factory.Sequence(lambda n: f"parent{n}@example.org")


class LinkedGuardianFactory(f.GuardianFactory):
    """A guardian who has accepted an invitation: a Guardian with its User."""

    user = factory.SubFactory(GuardianUserFactory, email=factory.SelfAttribute("..email"))


def family(center, *, first_name="Mia", **guardian_kwargs):
    """A linked guardian with one child at `center`; returns (guardian, child)."""
    guardian = LinkedGuardianFactory(center=center, **guardian_kwargs)
    child = f.PatientFactory(center=center, first_name=first_name, last_name="Rivera")
    f.GuardianshipFactory(guardian=guardian, patient=child, is_primary=True)
    return guardian, child


def journey_with_history(child, by, *, moves=0, therapy=None):
    """A real journey (services), moved forward and back `moves` times: a long history."""
    therapy = therapy or m.Therapy.objects.get(slug="zolgensma")
    journey = services.open_journey(child, by=by, therapy=therapy)
    stages = [m.Stage.PRE_TREATMENT, m.Stage.INSURANCE]
    for i in range(moves):
        services.move_stage(
            journey, stages[i % 2], by=by, reason=f"move {i}", override_reason="test"
        )
    return journey


@pytest.fixture
def guardian_a(center_a):
    return family(center_a, first_name="Mia", email="ana@example.org")[0]


@pytest.fixture
def child_a(guardian_a):
    return guardian_a.children.get()


@pytest.fixture
def guardian_b(center_a):
    return family(center_a, first_name="Leo", email="ben@example.org")[0]


@pytest.fixture
def child_b(guardian_b):
    return guardian_b.children.get()


@pytest.fixture
def client_a(client, guardian_a):
    client.force_login(guardian_a.user)
    return client


def days_ago(n):
    return timezone.now() - dt.timedelta(days=n)
