"""Error pages: a calm 404 with a way back, and a 500 page that needs nothing to render."""

import uuid

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from tests.factories_portal import family

pytestmark = pytest.mark.django_db


def test_404_for_a_family_has_a_way_back(client, center_a):
    guardian, _child = family(center_a, email="lost@example.org")
    client.force_login(guardian.user)
    response = client.get(reverse("portal:child", args=[uuid.uuid4()]))
    assert response.status_code == 404
    page = response.content.decode()
    assert "We could not find this page" in page
    assert reverse("portal:home") in page


def test_500_page_renders_without_a_request():
    page = render_to_string("500.html")
    assert "Nothing you saved was lost" in page
