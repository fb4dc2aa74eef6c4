"""The portal's links (journey.portal.links and {% link %}) are exactly what reverse() gives.

GIVEN the portal's URL names, with and without a child's public id
WHEN  a link is built twice (the second time from the per-process shape)
THEN  it equals reverse(), follows a swapped URLconf and script prefix, and an optional page
      no app provides is "" while a required one still fails loudly.
"""

import uuid

import pytest
from django.template import Context, Template
from django.urls import NoReverseMatch, reverse, set_script_prefix

from journey.portal import links

NAMES = ["portal:child", "portal:card", "portal:people", "portal_tracker:plan"]


@pytest.mark.parametrize("name", NAMES)
def test_a_childs_link_is_what_reverse_gives(name):
    for public_id in (uuid.uuid4(), uuid.uuid4()):
        expected = reverse(name, args=[public_id])
        assert links.url(name, public_id) == expected
        assert links.url(name, str(public_id)) == expected


def test_a_link_without_an_id_is_what_reverse_gives():
    assert links.url("portal:home") == reverse("portal:home")
    assert links.url("logout") == reverse("logout")


@pytest.mark.urls("tests.urls_portal_tracker")
def test_another_urlconf_gets_its_own_shapes():
    public_id = uuid.uuid4()
    assert links.url("portal_tracker:labs", public_id) == reverse(
        "portal_tracker:labs", args=[public_id]
    )
    with pytest.raises(NoReverseMatch):
        links.url("admin:index")  # not in this URLconf, though it is in the project's


def test_the_script_prefix_is_part_of_the_link():
    public_id = uuid.uuid4()
    plain = links.url("portal:child", public_id)
    set_script_prefix("/waypoint/")
    try:
        assert links.url("portal:child", public_id) == "/waypoint" + plain
    finally:
        set_script_prefix("/")


def test_the_tag_prints_links_and_an_optional_missing_page_as_nothing():
    public_id = uuid.uuid4()
    page = Template(
        "{% load portal %}{% link 'portal:card' id %}|"
        "{% link 'portal_nowhere:page' id optional=True as missing %}[{{ missing }}]"
    ).render(Context({"id": public_id}))
    assert page == f"{reverse('portal:card', args=[public_id])}|[]"
    with pytest.raises(NoReverseMatch):
        Template("{% load portal %}{% link 'portal_nowhere:page' id %}").render(
            Context({"id": public_id})
        )
