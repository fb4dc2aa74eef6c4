"""Template helpers for the portal ({% load portal %}, registered in settings.TEMPLATES)."""

from django import template
from django.template.loader import get_template
from django.urls import NoReverseMatch

from . import frame, links, words

register = template.Library()


@register.filter
def tel_href(number):
    """ "+1 555 0100" -> "tel:+15550100" (journey.portal.words.tel_href)."""
    return words.tel_href(number)


@register.simple_tag
def link(name, public_id=None, optional=False):
    """{% url %} for the portal's links, reversed once per process (journey.portal.links).

    `optional=True`: "" when no app provides the page (as {% url ... as var %} does)."""
    try:
        return links.url(name, public_id)
    except NoReverseMatch:
        if optional:
            return ""
        raise


@register.simple_tag(takes_context=True)
def include_if_exists(context, template_name):
    """Render `template_name` with the current context if some app provides it, else nothing.

    The seam for higher apps: journey's pages never import tracker, but the tracker pages may
    drop a partial at an agreed name (docs/portal.md) and it shows up here. It renders in the
    page's own context, as {% include %} does (a new context would run every context processor
    again: the CSRF token, the messages, the language, once more per partial).
    """
    try:
        partial = get_template(template_name)
    except template.TemplateDoesNotExist:
        return ""
    with context.push():
        return partial.template.render(context)


@register.simple_tag(takes_context=True)
def child_frame(context):
    """The child pages' frame (journey.portal.frame): the way back, the phones, the child's
    pages, `page` current."""
    return frame.child_frame_html(context["child"], context.get("page", ""))


@register.simple_tag(takes_context=True)
def account_nav(context):
    """The header's brand link and account menu (journey.portal.frame)."""
    return frame.account_nav_html(context.get("user"), context.get("csrf_token"))
