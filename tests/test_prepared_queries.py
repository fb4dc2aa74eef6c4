"""journey.prepared: a queryset compiled once answers as the queryset itself would, for any
values, in one query, and the access rules it was built from still decide (journey.access).

GIVEN two families, WHEN a prepared query built on journey.access runs for each login and
child, THEN each login gets its own child and never the other's, with the same objects,
columns and annotations the ORM gives.
"""

import datetime
import uuid

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Count
from django.utils import timezone

from journey.access import child_journeys_of, patients_for_guardian
from journey.models import Journey, Patient
from journey.portal.pages import CHILD_ALONE
from journey.prepared import MAX_LIST, Prepared
from tests import factories as f
from tests.factories_portal import family

pytestmark = pytest.mark.django_db

CHILD_WITH_CENTER = CHILD_ALONE  # the child pages' own query (journey.portal.pages)
JOURNEYS_OF_CHILD = Prepared(
    lambda user_id, public_id, now: (
        child_journeys_of(user_id, public_id, None, now)
        .select_related("patient__center")
        .annotate(step_count=Count("steps"))
        .order_by("-opened_at")
    ),
    user_id=int,
    public_id=uuid.UUID,
    now=datetime.datetime,
)
NAMES = Prepared(
    lambda ids: Patient.objects.filter(pk__in=ids).order_by("pk").values_list("first_name"),
    ids=list,
)
FIRST_NAMES = Prepared(
    lambda ids: (
        Patient.objects.filter(pk__in=ids).order_by("pk").values_list("first_name", flat=True)
    ),
    ids=list,
)


@pytest.fixture
def two_families():
    center = f.CenterFactory()
    return family(center, first_name="Ana"), family(center, first_name="Ben")


def _values(guardian, child):
    return {"user_id": guardian.user.pk, "public_id": child.public_id, "now": timezone.now()}


def test_each_login_reads_its_own_child_and_never_another(two_families):
    (guardian_a, child_a), (guardian_b, child_b) = two_families
    found = CHILD_WITH_CENTER.first(**_values(guardian_a, child_a))
    assert found == child_a and found.center == child_a.center
    assert CHILD_WITH_CENTER.first(**_values(guardian_b, child_b)) == child_b
    assert CHILD_WITH_CENTER.first(**_values(guardian_b, child_a)) is None
    assert CHILD_WITH_CENTER.first(**_values(guardian_a, child_b)) is None


def test_the_objects_are_the_querysets_own(two_families, django_assert_num_queries):
    (guardian, child), _ = two_families
    f.JourneyFactory(patient=child)
    values = _values(guardian, child)
    expected = list(
        child_journeys_of(guardian.user.pk, child.public_id, None, values["now"])
        .select_related("patient__center")
        .annotate(step_count=Count("steps"))
        .order_by("-opened_at")
    )
    with django_assert_num_queries(1):
        found = JOURNEYS_OF_CHILD.run(**values)
    assert found == expected
    assert isinstance(found[0], Journey) and not found[0]._state.adding
    assert found[0].patient == child and found[0].patient.center == child.center
    assert found[0].step_count == expected[0].step_count
    assert found[0].opened_at == expected[0].opened_at  # converted as the ORM does


def test_a_restriction_in_force_hides_the_child_on_the_next_run(two_families):
    (guardian, child), _ = two_families
    assert CHILD_WITH_CENTER.first(**_values(guardian, child)) == child
    link = guardian.guardianships.get(patient=child)
    now = timezone.now()
    link.restrictions.create(
        kind="no_access", source="age_policy", starts_at=now, created_at=now, reason="age"
    )
    assert patients_for_guardian(guardian.user).filter(pk=child.pk).exists() is False
    assert CHILD_WITH_CENTER.first(**_values(guardian, child)) is None


def test_list_arguments_of_any_length(two_families, django_assert_num_queries):
    (_, child_a), (_, child_b) = two_families
    more = [f.PatientFactory(first_name=f"Kid{n}") for n in range(MAX_LIST + 1)]
    assert NAMES.run(ids=[child_b.pk]) == [("Ben",)]
    assert FIRST_NAMES.run(ids=[child_a.pk, child_b.pk]) == ["Ana", "Ben"]
    every = [child_a.pk, child_b.pk, *(p.pk for p in more)]  # longer than MAX_LIST
    assert FIRST_NAMES.run(ids=every) == ["Ana", "Ben", *(p.first_name for p in more)]
    with django_assert_num_queries(0):
        assert FIRST_NAMES.run(ids=[]) == []


def test_wrong_arguments_are_refused():
    with pytest.raises(TypeError):
        NAMES.run(idz=[1])
    unused = Prepared(
        lambda ids, day: Patient.objects.filter(pk__in=ids), ids=list, day=datetime.date
    )
    with pytest.raises(ImproperlyConfigured, match="day"):
        unused.run(ids=[1], day=datetime.date.today())


HOUR, DAY = datetime.timedelta(hours=1), datetime.timedelta(days=1)
COMPUTED = [
    (lambda v: Patient.objects.filter(date_of_birth__lte=v, date_of_birth__gte=v - DAY),
     datetime.date(2026, 1, 1)),
    (lambda v: Patient.objects.filter(created_at__gte=v, created_at__lt=v + HOUR),
     datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)),
    (lambda v: Patient.objects.filter(pk__in=[v, v + 1]), 5),
]  # fmt: skip


@pytest.mark.parametrize("build, value", COMPUTED)
def test_a_value_computed_from_an_argument_is_refused(build, value):
    """Compiled once, `day - 1` would stay the stand-in's day for every real day (the day
    itself is in the query too, so 'the query does not use it' cannot catch it)."""
    computed = Prepared(lambda value: build(value), value=type(value))
    with pytest.raises(ImproperlyConfigured, match="computed from an argument"):
        computed.run(value=value)


CHILD_NAME_ONLY = Prepared(
    lambda pk: Patient.objects.filter(pk=pk).select_related("center").only("first_name", "center"),
    pk=int,
)


def test_instances_hold_what_the_orms_would(two_families, django_assert_num_queries):
    """Rows become instances without Model.__init__ (journey.prepared._Plain): the same
    loaded columns, not adding, on their database; a deferred column loads on first use."""
    (_, child), _ = two_families
    expected = (
        Patient.objects.select_related("center").only("first_name", "center").get(pk=child.pk)
    )
    with django_assert_num_queries(1):
        found = CHILD_NAME_ONLY.first(pk=child.pk)
    assert type(found) is Patient and type(found.center) is type(expected.center)
    assert found.get_deferred_fields() == expected.get_deferred_fields()
    assert vars(found.center).keys() == vars(expected.center).keys()
    assert not found._state.adding and found._state.db == expected._state.db
    assert found.first_name == "Ana" and found.center == child.center
    with django_assert_num_queries(1):
        assert found.last_name == child.last_name  # deferred: read now, as the ORM does


def test_a_model_with_init_receivers_is_built_by_django(two_families):
    from django.db.models.signals import post_init

    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance)

    (_, child), _ = two_families
    post_init.connect(receiver, sender=Patient)
    try:
        query = Prepared(lambda pk: Patient.objects.filter(pk=pk), pk=int)
        assert query.first(pk=child.pk) == child
    finally:
        post_init.disconnect(receiver, sender=Patient)
    assert seen and seen[-1].pk == child.pk
