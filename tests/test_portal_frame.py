"""journey.portal.frame: the child pages' frame, built in Python, links every child page
another app added (the tracker's, in its AppConfig.ready) and marks the current one."""

import pytest
from django.urls import reverse

from journey.portal.frame import CHILD_LINKS, add_child_link
from tests import factories as f
from tests.factories_portal import family

pytestmark = pytest.mark.django_db


def test_the_navigation_links_the_tracker_pages_once(client):
    from journey.security.testing import force_login_verified

    guardian, child = family(f.CenterFactory(), first_name="Ana")
    force_login_verified(client, guardian.user)
    add_child_link("portal_tracker:plan", "plan", "Care plan")  # again: still once
    page = client.get(reverse("portal_tracker:plan", args=[child.public_id])).content.decode()
    plan = reverse("portal_tracker:plan", args=[child.public_id])
    assert page.count(f'href="{plan}"') == 1
    assert f'<a href="{plan}" aria-current="page">Care plan</a>' in page
    assert reverse("portal_tracker:labs", args=[child.public_id]) in page
    assert 'aria-label="Pages about Ana"' in page
    assert [link.page for link in CHILD_LINKS][:4] == ["plan", "labs", "calendar", "record"]
