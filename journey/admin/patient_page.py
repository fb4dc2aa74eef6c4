"""The admin patient list's content (search, actions, table, pages, filters) as one HTML string
built in Python, the markup of Django's change_list.html and its inclusion tags.

Those templates (a dozen inclusion tags and includes, the action form's widget templates, the
filters' loops) took about half of the page's rendering. Every value is escaped as the
templates' autoescaping did (conditional_escape, numbers through localize), `{% translate %}`
words too; `{% blocktranslate %}` words stay as translated, their values escaped. A test
compares the page with Django's own templates rendered from the same context.
"""

from django.contrib.admin.helpers import ActionForm
from django.contrib.admin.templatetags.admin_list import admin_list_filter, paginator_number
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.views.main import SEARCH_VAR
from django.templatetags.static import static
from django.urls import reverse
from django.utils.encoding import iri_to_uri
from django.utils.formats import localize
from django.utils.html import conditional_escape as esc
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, ngettext

from .frame import capfirst_text

FILTER_TEMPLATE = "admin/filter.html"


def handles(context):
    """True for the list this module writes: no popup, no editable rows (formset), no date
    hierarchy, Django's action form, the rows pre-formatted (PatientChangeList.rows_html)."""
    cl = context.get("cl")
    return (
        cl is not None
        and getattr(cl, "rows_html", None) is not None
        and not cl.is_popup
        and not cl.formset
        and not cl.date_hierarchy
        and type(context.get("action_form")) in (ActionForm, type(None))
    )


def content_html(context):
    """The page's `content` block, around the changelist form's CSRF field (frame.page_html
    writes it, with the page's one token): (before, after)."""
    cl = context["cl"]
    filtered = " filtered" if cl.has_filters else ""
    before = (
        f'<div id="content-main"><ul class="object-tools">{_object_tools(context)}</ul>'
        f'<div class="module{filtered}" id="changelist"><div class="changelist-form-container">'
        f'{_search(cl)}<form id="changelist-form" method="post" novalidate>'
    )
    after = f"{_results(context)}{_pagination(cl)}</form></div>{_filters(cl)}</div></div>"
    return mark_safe(before), mark_safe(after)  # noqa: S308 (every value escaped)


def _object_tools(context):
    if not context.get("has_add_permission"):
        return ""
    cl = context["cl"]
    opts = cl.opts
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_add")
    tag_context = {name: context.get(name) for name in ("opts", "preserved_filters")}
    url = add_preserved_filters(tag_context, url, context.get("is_popup"), context.get("to_field"))
    words = gettext("Add %(name)s") % {"name": esc(opts.verbose_name)}
    return f'<li><a href="{esc(url)}" class="addlink">{words}</a></li>'


def _search(cl):
    """search_form.html; the count is always shown (show_full_result_count is off or the
    counts differ, as search_form's show_result_count asks)."""
    if not cl.search_fields:
        return ""
    help_attr = ' aria-describedby="searchbar_helptext"' if cl.search_help_text else ""
    hidden = "".join(
        f'<input type="hidden" name="{esc(name)}" value="{esc(value)}">'
        for name, value in cl.params.items()
        if name != SEARCH_VAR
    )
    help_text = ""
    if cl.search_help_text:
        help_text = (
            '<br class="clear">'
            f'<div class="help" id="searchbar_helptext">{esc(cl.search_help_text)}</div>'
        )
    return (
        '<div id="toolbar"><form id="changelist-search" method="get" role="search"><div>'
        "<!-- DIV needed for valid HTML -->"
        f'<label for="searchbar"><img src="{esc(static("admin/img/search.svg"))}" '
        'alt="Search"></label>'
        f'<input type="text" size="40" name="{SEARCH_VAR}" value="{esc(cl.query)}" '
        f'id="searchbar"{help_attr}><input type="submit" value="{esc(gettext("Search"))}">'
        f"{_result_count(cl)}{hidden}</div>{help_text}</form></div>"
    )


def _result_count(cl):
    if cl.result_count == cl.full_result_count:
        return ""
    found = ngettext("%(counter)s result", "%(counter)s results", cl.result_count)
    found %= {"counter": esc(localize(cl.result_count))}
    if cl.show_full_result_count:
        total = gettext("%(full_result_count)s total")
        link = total % {"full_result_count": esc(localize(cl.full_result_count))}
    else:
        link = esc(gettext("Show all"))
    query = "?"
    if cl.is_popup:
        query += "_popup=1" + ("&" if cl.add_facets else "")
    if cl.add_facets:
        query += "_facets"
    return f'<span class="small quiet">{found} (<a href="{esc(query)}">{link}</a>)</span>'


def _results(context):
    """The result_list block: actions above and below, the table (headers, rows)."""
    cl = context["cl"]
    show = context.get("action_form") and cl.show_admin_actions
    top = _actions(context, 0) if show and context.get("actions_on_top") else ""
    index = 1 if top else 0
    bottom = _actions(context, index) if show and context.get("actions_on_bottom") else ""
    return f"{top}{_table(cl)}{bottom}"


def _actions(context, index):
    """actions.html, the action form's select written out (one field, one hidden input)."""
    cl = context["cl"]
    count = len(cl.result_list)
    counter = ""
    if context.get("actions_selection_counter"):
        counter = (
            f'<span class="action-counter" data-actions-icnt="{esc(localize(count))}">'
            f"{esc(context['selection_note'])}</span>"
        )
        if cl.result_count != count:
            counter += _select_across(context, cl)
    return (
        f'<div class="actions">{_action_fields(context["action_form"])}'
        '<button type="submit" class="button" '
        f'title="{esc(gettext("Run the selected action"))}" name="index" value="{index}">'
        f"{esc(gettext('Go'))}</button>{counter}</div>"
    )


def _select_across(context, cl):
    total = esc(localize(cl.result_count))
    select_all = gettext("Select all %(total_count)s %(module_name)s") % {
        "total_count": total,
        "module_name": esc(context["module_name"]),
    }
    title = esc(gettext("Click here to select the objects across all pages"))
    return (
        f'<span class="all hidden">{esc(context["selection_note_all"])}</span>'
        f'<span class="question hidden"><a role="button" href="#" title="{title}">'
        f"{select_all}</a></span>"
        f'<span class="clear hidden"><a role="button" href="#">'
        f"{esc(gettext('Clear selection'))}</a></span>"
    )


def _action_fields(form):
    """Django's ActionForm: the labelled action select and the hidden select_across."""
    action = form["action"]
    options = "".join(
        f'<option value="{esc(value)}"{" selected" if str(value) == "" else ""}>'
        f"{esc(label)}</option>"
        for value, label in action.field.choices
    )
    return (
        f'<label>{esc(action.label)} <select name="action" required>{options}</select></label>'
        '<input type="hidden" name="select_across" value="0" class="select-across">'
    )


def _table(cl):
    if not cl.result_count:
        return ""
    headers = "".join(_header(cl, header) for header in cl.headers)
    return (
        '<div class="results"><table id="result_list"><thead><tr>'
        f"{headers}</tr></thead><tbody>{cl.rows_html}</tbody></table></div>"
    )


def _header(cl, header):
    sort = ""
    if header["sortable"] and header["sort_priority"] > 0:
        priority = ""
        if cl.num_sorted_fields > 1:
            number = esc(localize(header["sort_priority"]))
            title = gettext("Sorting priority: %(priority_number)s") % {"priority_number": number}
            priority = f'<span class="sortpriority" title="{title}">{number}</span>'
        order = "ascending" if header["ascending"] else "descending"
        sort = (
            f'<div class="sortoptions"><a class="sortremove" href="{esc(header["url_remove"])}" '
            f'title="{esc(gettext("Remove from sorting"))}"></a>{priority}'
            f'<a href="{esc(header["url_toggle"])}" class="toggle {order}" '
            f'title="{esc(gettext("Toggle sorting"))}"></a></div>'
        )
    text = esc(capfirst_text(header["text"]))
    if header["sortable"]:
        text = f'<a href="{esc(header["url_primary"])}">{text}</a>'
    else:
        text = f"<span>{text}</span>"
    return (
        f'<th scope="col"{header["class_attrib"]}>{sort}<div class="text">{text}</div>'
        '<div class="clear"></div></th>'
    )


def _pagination(cl):
    """pagination.html (the pagination tag's context, no formset)."""
    required = (not cl.show_all or not cl.can_show_all) and cl.multi_page
    pages = cl.paginator.get_elided_page_range(cl.page_num) if required else []
    numbers = "".join(paginator_number(cl, number) for number in pages)
    name = cl.opts.verbose_name if cl.result_count == 1 else cl.opts.verbose_name_plural
    show_all = ""
    if cl.can_show_all and not cl.show_all and cl.multi_page:
        url = cl.get_query_string({"all": ""})
        show_all = f'<a href="{esc(url)}" class="showall">{esc(gettext("Show all"))}</a>'
    return (
        f'<p class="paginator">{numbers}{esc(localize(cl.result_count))} {esc(name)}{show_all}</p>'
    )


def _filters(cl):
    if not cl.has_filters:
        return ""
    extra = ""
    if cl.is_facets_optional or cl.has_active_filters:
        extra = f'<div id="changelist-filter-extra-actions">{_filter_actions(cl)}</div>'
    specs = "".join(_filter(cl, spec) for spec in cl.filter_specs)
    return (
        '<nav id="changelist-filter" aria-labelledby="changelist-filter-header">'
        f'<h2 id="changelist-filter-header">{esc(gettext("Filter"))}</h2>{extra}{specs}</nav>'
    )


def _filter_actions(cl):
    out = ""
    if cl.is_facets_optional:
        if cl.add_facets:
            link = f'<a href="{esc(cl.remove_facet_link)}" class="hidelink">'
            link += f"{esc(gettext('Hide counts'))}</a>"
        else:
            link = f'<a href="{esc(cl.add_facet_link)}" class="viewlink">'
            link += f"{esc(gettext('Show counts'))}</a>"
        out += f"<h3>{link}</h3>"
    if cl.has_active_filters:
        clear = esc(gettext("Clear all filters"))
        out += f'<h3><a href="{esc(cl.clear_all_filters_qs)}">&#10006; {clear}</a></h3>'
    return out


def _filter(cl, spec):
    """filter.html, or the filter's own template through Django's tag."""
    if spec.template != FILTER_TEMPLATE:
        return admin_list_filter(cl, spec)
    title = gettext(" By %(filter_title)s ") % {"filter_title": esc(spec.title)}
    choices = "".join(_choice(choice) for choice in spec.choices(cl))
    return (
        f'<details data-filter-title="{esc(spec.title)}" open><summary>{title}</summary>'
        f"<ul>{choices}</ul></details>"
    )


def _choice(choice):
    selected = ' class="selected"' if choice["selected"] else ""
    url = esc(iri_to_uri(choice["query_string"]))
    return f'<li{selected}><a href="{url}">{esc(choice["display"])}</a></li>'
