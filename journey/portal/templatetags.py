"""Template helpers for the portal ({% load portal %}, registered in settings.TEMPLATES)."""

from django import template
from django.template.loader import get_template

from . import words

register = template.Library()


@register.filter
def tel_href(number):
    """ "+1 555 0100" -> "tel:+15550100" (journey.portal.words.tel_href)."""
    return words.tel_href(number)


@register.simple_tag(takes_context=True)
def include_if_exists(context, template_name):
    """Render `template_name` with the current context if some app provides it, else nothing.

    The seam for higher apps: journey's pages never import tracker, but the tracker pages may
    drop a partial at an agreed name (docs/portal.md) and it shows up here.
    """
    try:
        partial = get_template(template_name)
    except template.TemplateDoesNotExist:
        return ""
    return partial.render(context.flatten(), context.get("request"))
