"""A child page reads the child with its journey in one query, through journey.access.

GIVEN two families at one center, each child with a journey (and one child with none)
WHEN  a guardian opens the journey, card, plan and labs pages
THEN  their own child's pages answer with that child's journey, the other family's child is
      a 404 (the journey is there, the guardianship is not), and a child with no journey yet
      still gets its page (one query more: the child alone).
"""

import pytest
from django.conf import settings
from django.urls import reverse

from journey.access import child_journeys_for_guardian
from tests import factories as f
from tests.factories_portal import family, journey_with_history

pytestmark = pytest.mark.django_db
PAGES = ["portal:child", "portal:card", "portal_tracker:plan", "portal_tracker:labs"]
SESSION = 0 if settings.SESSION_ENGINE.endswith("cached_db") else 1
# Without a journey: the user, the (empty) journey query, the child alone; the card adds the
# diagnosis, the labs page the family's outside results.
NO_JOURNEY = {
    "portal:child": 3,
    "portal:card": 4,
    "portal_tracker:plan": 3,
    "portal_tracker:labs": 4,
}


def url(name, child):
    return reverse(name, args=[child.public_id])


@pytest.fixture
def families(center_a, coordinator_a):
    guardian_a, child_a = family(center_a, first_name="Mia", email="a@example.org")
    guardian_b, child_b = family(center_a, first_name="Noah", email="b@example.org")
    journey_with_history(child_a, coordinator_a, moves=1)
    journey_with_history(child_b, coordinator_a, moves=1)
    return guardian_a, child_a, guardian_b, child_b


@pytest.mark.parametrize("name", PAGES)
def test_the_other_familys_child_with_a_journey_is_a_404(client, families, name):
    guardian_a, child_a, guardian_b, child_b = families
    client.force_login(guardian_b.user)
    own = client.get(url(name, child_b))
    assert own.status_code == 200
    assert "Noah" in own.content.decode()
    assert client.get(url(name, child_a)).status_code == 404


@pytest.mark.parametrize("name", PAGES)
def test_a_child_without_a_journey_yet_still_has_its_page(
    client, center_a, django_assert_num_queries, name
):
    guardian, child = family(center_a, first_name="Lucia", email="c@example.org")
    client.force_login(guardian.user)
    client.get(url(name, child))  # the session's first write is done
    with django_assert_num_queries(SESSION + NO_JOURNEY[name]):
        response = client.get(url(name, child))
    assert response.status_code == 200
    assert "Lucia" in response.content.decode()


def test_the_page_shows_the_named_child_of_a_guardian_with_two(client, center_a, coordinator_a):
    guardian, first = family(center_a, first_name="Mia", email="d@example.org")
    second = f.PatientFactory(center=center_a, first_name="Leo")
    f.GuardianshipFactory(guardian=guardian, patient=second)
    journey_with_history(first, coordinator_a)
    journey_with_history(second, coordinator_a)
    client.force_login(guardian.user)
    for name in PAGES:
        page = client.get(url(name, second)).content.decode()
        assert "Leo" in page and "Mia" not in page, name


def test_child_journeys_for_guardian_holds_only_their_own_childs(families):
    guardian_a, child_a, _guardian_b, child_b = families
    mine = child_journeys_for_guardian(guardian_a.user, child_a.public_id)
    assert [j.patient_id for j in mine] == [child_a.pk]
    assert not child_journeys_for_guardian(guardian_a.user, child_b.public_id).exists()
    guardian_a.user.is_active = False
    assert not child_journeys_for_guardian(guardian_a.user, child_a.public_id).exists()
