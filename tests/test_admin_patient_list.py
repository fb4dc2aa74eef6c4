"""The admin patient list: 100 rows a page, every child reachable, Django's own row markup.

GIVEN a center with more children than one page holds
WHEN  its coordinator pages through the patient list
THEN  each page has at most 100 rows, every child appears once, each pre-formatted row is the
      markup Django's changelist writes (bulk actions still work), another center's children
      never show, and the page reads the same number of queries for 2 children or 30.
"""

import re

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.templatetags import admin_list
from django.contrib.auth.models import Permission
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

import journey.eligibility  # noqa: F401  (the age-limit column calls it)
from journey import services
from journey.admin.patients import attach_open_therapies, page_rows
from journey.models import Membership, Patient
from journey.security.admin_site import nav_html
from journey.security.staff_zone import staff_zone
from tests import admin_journey
from tests import factories as f
from tests.admin_journey import url
from tests.conftest import otp_login

# The shared fixtures (tests/admin_journey.py), bound here for pytest to find.
client_a, journey_a, journey_b, zolgensma = (
    admin_journey.client_a,
    admin_journey.journey_a,
    admin_journey.journey_b,
    admin_journey.zolgensma,
)

LIST = reverse("admin:journey_patient_changelist")
pytestmark = pytest.mark.django_db


def _ids(text):
    return [int(pk) for pk in re.findall(r'name="_selected_action" value="(\d+)"', text)]


def test_every_child_is_on_exactly_one_page(client, coordinator_a, center_a, center_b):
    mine = {patient.pk for patient in f.PatientFactory.create_batch(110, center=center_a)}
    f.PatientFactory(center=center_b, last_name="Elsewhere")
    otp_login(client, coordinator_a)
    first, second = client.get(LIST).text, client.get(LIST + "?p=2").text
    assert len(_ids(first)) == 100 and len(_ids(second)) == 10
    assert set(_ids(first)) | set(_ids(second)) == mine
    assert "Elsewhere" not in first + second


def test_the_rows_keep_djangos_order(client, coordinator_a, center_a):
    """Names in order, the same names by descending id (Django's -pk; the page breaks ties
    by id + 0 for the planner)."""
    for last in ["Same", "Other", "Same", "Same", "Able"]:
        f.PatientFactory(center=center_a, first_name="Ana", last_name=last)
    otp_login(client, coordinator_a)
    mine = Patient.objects.filter(center=center_a)
    djangos = mine.order_by("last_name", "first_name", "-pk").values_list("pk", flat=True)
    assert _ids(client.get(LIST).text) == list(djangos)


def test_the_row_checkbox_is_djangos_markup(client, coordinator_a, center_a):
    patient = f.PatientFactory(center=center_a, first_name="Ana", last_name="O'Neil <b>")
    otp_login(client, coordinator_a)
    text = client.get(LIST).text
    model_admin = admin.site._registry[Patient]
    django_markup = admin.ModelAdmin.action_checkbox(model_admin, patient)
    assert model_admin.action_checkbox(patient) == django_markup
    assert django_markup in text


def test_patient_list_shows_stage_therapy_and_age_limit(client_a, journey_a):
    text = client_a.get(url("patient_changelist")).text
    assert "Diagnosis confirmed" in text
    assert "Zolgensma" in text
    assert "age limit in" in text


def test_patient_list_filters_by_stage(client_a, journey_a, center_a):
    f.PatientFactory(center=center_a, last_name="Nojourney")
    text = client_a.get(url("patient_changelist") + "?stage=none").text
    assert "Nojourney" in text and "Avila" not in text


@pytest.mark.parametrize(
    "query", ["", "?stage=diagnosis_confirmed&o=-2.1", "?q=Avila", "?q=999999999"]
)
def test_the_rows_are_the_markup_django_writes(client_a, journey_a, center_a, query):
    """Pre-formatted rows (journey.admin.patient_rows) equal Django's result_list rows, with the
    filters kept in the change link, a stage link, a therapy and an age-limit deadline."""
    f.PatientFactory(
        center=center_a, first_name="Noa", last_name="Avila <i>", medical_record_number="999999999"
    )
    cl = client_a.get(LIST + query).context["cl"]
    rows_html = cl.rows_html
    cl.result_list = list(cl.page_queryset)  # the same page as model instances, for Django
    attach_open_therapies(cl.result_list)
    django_rows = "".join(f"<tr>{''.join(row)}</tr>" for row in admin_list.results(cl))
    assert rows_html and rows_html == django_rows
    assert "_changelist_filters" in rows_html or not query


def test_a_popup_list_keeps_djangos_rows(client_a, journey_a):
    cl = client_a.get(LIST + "?_popup=1&_to_field=id").context["cl"]
    assert cl.rows_html is None
    assert "data-popup-opener" in client_a.get(LIST + "?_popup=1&_to_field=id").text


def _list_queries(client, center, coordinator, therapy, count):
    for _ in range(count):
        services.open_journey(f.PatientFactory(center=center), by=coordinator, therapy=therapy)
    client.get(url("patient_changelist"))  # the login's user and device are cached after one
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url("patient_changelist")).status_code == 200
    return len(queries)


def test_patient_list_query_count_does_not_grow(client_a, center_a, coordinator_a, zolgensma):
    few = _list_queries(client_a, center_a, coordinator_a, zolgensma, 2)
    many = _list_queries(client_a, center_a, coordinator_a, zolgensma, 28)
    # session (none with cached sessions: Redis), user with device, permissions, centers,
    # therapies (filter), count, page, the age-limit criteria of the page's therapies
    session = 0 if settings.SESSION_ENGINE.endswith("cached_db") else 1
    assert few == many == 7 + session


def test_superuser_patient_list_filters_by_center(client, superuser, journey_a, journey_b):
    otp_login(client, superuser)
    text = client.get(url("patient_changelist") + f"?center={journey_b.center_id}").text
    assert "Berg" in text and "Avila" not in text


@pytest.fixture
def patient_viewer(db):
    """Staff with one permission of their own (view patients), none from a group."""
    user = f.UserFactory(email="viewer@example.org", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_patient"))
    return user


@pytest.fixture
def inactive_coordinator(coordinator_a):
    coordinator_a.is_active = False
    return coordinator_a


@pytest.mark.parametrize(
    "who", ["coordinator_a", "superuser", "patient_viewer", "inactive_coordinator"]
)
def test_the_sidebar_lists_what_djangos_app_list_lists(rf, request, who):
    """The sidebar's app list (URLs reversed once per process, permissions read once a
    request) is Django's, names as text."""
    asking = rf.get(LIST)
    asking.user = request.getfixturevalue(who)
    djangos = admin.AdminSite._build_app_dict(admin.site, asking)
    for app in djangos.values():
        app["name"] = str(app["name"])
        for model in app["models"]:
            model["name"] = str(model["name"])
    assert admin.site._build_app_dict(asking) == djangos
    if who == "inactive_coordinator":
        assert djangos == {}
        return
    assert admin.site._build_app_dict(asking, "journey") == {"journey": djangos["journey"]}
    assert any(app["models"] for app in djangos.values())


def _tags_only(html):
    """The markup without the whitespace around its tags (the template's indentation)."""
    return re.sub(r"\s*(<[^>]+>)\s*", r"\1", html).strip()


@pytest.mark.parametrize("who", ["coordinator_a", "superuser"])
@pytest.mark.parametrize("path", [LIST, "/admin/", "/admin/tracker/worklist/"])
def test_the_sidebar_markup_is_djangos(rf, request, who, path):
    """The sidebar's app list, written in Python (admin_site.nav_html), is the markup of
    Django's admin/app_list.html as nav_sidebar.html includes it, current app and model too."""
    asking = rf.get(path)
    asking.user = request.getfixturevalue(who)
    apps = admin.site.get_app_list(asking)
    context = {"app_list": list(apps), "show_changelinks": False, "request": asking}
    djangos = render_to_string("admin/app_list.html", context)
    assert 'class="addlink"' in djangos and "current-" in djangos or path != LIST
    assert _tags_only(apps.nav_html()) == _tags_only(djangos)


def test_an_empty_sidebar_says_so_as_django_does(rf):
    asking = rf.get(LIST)
    djangos = render_to_string("admin/app_list.html", {"app_list": [], "request": asking})
    assert _tags_only(nav_html([], LIST)) == _tags_only(djangos)


def test_the_page_shows_the_sidebar(client_a):
    text = client_a.get(LIST).text
    assert '<nav class="sticky" id="nav-sidebar"' in text
    assert 'href="/admin/journey/patient/" aria-current="page"' in text


def _page_markup(html):
    """The markup with the templates' whitespace around tags dropped, other runs of spaces as
    one, and the CSRF tokens (masked anew on each use) left out."""
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', 'name="csrfmiddlewaretoken"', html)
    html = re.sub(r"\s*(<[^>]+>)\s*", r"\1", html)
    return re.sub(r"\s+", " ", html).strip()


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?p=2",
        "?stage=diagnosis_confirmed&o=-2.1",
        "?o=5.-1.2",
        "?q=Avila",
        "?q=nobody",
        "?_facets=True",
        "?therapy=0&stage=none",
    ],
)
def test_the_page_is_the_markup_of_djangos_templates(client_a, journey_a, center_a, query):
    """The page written in Python (patient_page, patient_rows) is what Django's change_list.html
    writes from the same context, search, actions, headers, rows, pages and filters."""
    f.PatientFactory.create_batch(120, center=center_a)
    response = client_a.get(LIST + query)
    context = dict(response.context_data)
    assert context.pop("patient_page")
    cl = context["cl"]
    cl.result_list = list(cl.page_queryset)  # model instances, for Django's rows
    attach_open_therapies(cl.result_list)
    asked = response.wsgi_request
    with timezone.override(staff_zone(asked.user)):  # as the page's middleware does
        djangos = render_to_string("admin/change_list.html", context, request=asked)
    assert _page_markup(response.text) == _page_markup(djangos)


@pytest.mark.parametrize("who", ["coordinator_a", "superuser"])
@pytest.mark.parametrize(
    "query",
    [
        "?p=abc",
        "?p=999999999999",
        "?p=-1",
        "?q=" + "x" * 5000,
        "?stage=bogus",
        "?therapy=abc",
        "?therapy=99999999999999999999",
        "?therapy=٣",
        "?center=abc",
        "?center=99999999999999999999",
        "?o=abc",
        "?o=99",
    ],
)
def test_bad_input_answers_a_page_or_a_redirect(client, request, journey_a, who, query):
    """Malformed pages, searches and filter values: the list or Django's ?e=1, never a 500."""
    otp_login(client, request.getfixturevalue(who))
    response = client.get(LIST + query)
    assert response.status_code in (200, 302)
    assert response.status_code == 200 or response["Location"].endswith("?e=1")
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]


def test_messages_show_as_djangos_messagelist(client_a, journey_a):
    """An action with nothing selected: Django's warning, on the page it redirects to."""
    form = {"action": "delete_selected", "index": "0", "select_across": "0"}
    response = client_a.post(LIST, form, follow=True)
    assert response.redirect_chain and response.status_code == 200
    assert '<ul class="messagelist"><li class="warning">Items must be selected' in response.text
    assert "Avila" in response.text


def test_the_action_runs_on_the_checked_rows(client_a, journey_a):
    """The page's checkbox and action select post what Django's action handling reads."""
    text = client_a.get(LIST).text
    assert '<option value="delete_selected">' in text
    form = {"action": "delete_selected", "index": "0", "_selected_action": _ids(text)[:1]}
    response = client_a.post(LIST, form)
    assert response.status_code == 200
    assert "delete_selected_confirmation" in " ".join(response.template_name)


def test_the_first_page_is_the_admins_page(client, coordinator_a, center_a, center_b):
    """The list as it opens (a Prepared statement) holds the rows of PatientAdmin's queryset,
    for a coordinator at one center and at two."""
    f.PatientFactory.create_batch(60, center=center_a)
    f.PatientFactory.create_batch(60, center=center_b)
    otp_login(client, coordinator_a)
    for _ in range(2):
        cl = client.get(LIST).context["cl"]
        assert len(cl.result_list) == 60 or len(cl.result_list) == 100
        assert cl.result_list == page_rows(cl.page_queryset)
        Membership.objects.get_or_create(user=coordinator_a, center=center_b)
