"""Issue 12: no browser or proxy keeps a copy of a page with patient data.

GIVEN family A's guardian, coordinator A and a superuser, logged in (tests/test_authz_matrix.py)
WHEN  they GET every URL pattern of the family portal, and every admin URL (patients,
      journeys, results, plans, the worklist, custom pages ...)
THEN  each answer carries Cache-Control: private, no-store (a never_cache view keeps its own,
      stricter header, which says both too); a page without patient data is left alone.
"""

import pytest
from django.urls import reverse

from journey.security.headers import NO_STORE, NoStoreMiddleware
from tests import authz_matrix as am
from tests.test_authz_matrix import world  # noqa: F401 (the module-wide personas and objects)

pytestmark = pytest.mark.django_db


def _who(key):
    """The first of guardian A, coordinator A, superuser the matrix lets see the page."""
    row = am.MATRIX[key]
    for role in ("guardian_a", "coordinator_a", "superuser"):
        if row[role] == "200":
            return role, "200"
    return "guardian_a" if key.startswith("portal") else "superuser", None


def _keys(prefix):
    return sorted(key for key, route in am.all_patterns().items() if route.startswith(prefix))


def _cells():
    keys = _keys("portal/") + _keys("admin/")
    return [pytest.param(key, *_who(key), id=key) for key in keys]


def test_every_portal_and_patient_admin_page_is_walked():
    keys = set(_keys("portal/")) | set(_keys("admin/"))
    assert {"portal:home", "portal:child", "portal_tracker:labs", "portal_tracker:feed"} <= keys
    wanted = ["journey_patient", "journey_journey", "tracker_labresult", "tracker_monitoringplan"]
    for model in wanted:
        assert {f"admin:{model}_changelist", f"admin:{model}_change"} <= keys
    assert "admin:tracker_worklist_changelist" in keys


@pytest.mark.parametrize(("key", "role", "expected"), _cells())
def test_every_page_says_private_no_store(world, key, role, expected):  # noqa: F811
    url = world.url_for(key, am.all_patterns()[key])
    response = world.clients[role].get(url)
    if expected:
        assert response.status_code == 200, (url, role, response.status_code)
    words = {word.strip() for word in response.headers.get("Cache-Control", "").split(",")}
    assert {"private", "no-store"} <= words, (url, role, response.headers.get("Cache-Control"))


def test_the_calendar_feed_is_no_longer_kept_for_15_minutes(world):  # noqa: F811
    key = "portal_tracker:feed"
    response = world.clients["anonymous"].get(world.url_for(key, am.all_patterns()[key]))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == NO_STORE


def test_a_page_without_patient_data_is_left_alone(client):
    response = client.get(reverse("password_reset_done"))
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")


def test_a_stricter_header_is_kept_and_a_weaker_one_replaced(rf):
    from django.http import HttpResponse

    def view_with(header):
        def get_response(request):
            response = HttpResponse("ok")
            if header:
                response.headers["Cache-Control"] = header
            return response

        return NoStoreMiddleware(get_response)

    strict = "max-age=0, no-cache, no-store, must-revalidate, private"
    assert view_with(strict)(rf.get("/portal/x/")).headers["Cache-Control"] == strict
    weak = view_with("private, max-age=900")(rf.get("/admin/x/"))
    assert weak.headers["Cache-Control"] == NO_STORE
    assert "Cache-Control" not in view_with(None)(rf.get("/accounts/login/")).headers
