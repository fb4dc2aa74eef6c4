"""The generated values and the form discovery of tests/test_fuzz_forms.py.

value_for(field) draws bad and well-typed input for one form field; discover(client, url)
finds every field (formsets and inlines too) of the forms a page renders.
"""

import json

from django import forms
from django.forms.formsets import BaseFormSet, ManagementForm
from hypothesis import strategies as st

# ---------------------------------------------------------------- the generated values

ODD_PLANES = st.characters(min_codepoint=0x10000, exclude_categories=("Cs",))
ANY_CHAR = st.characters(exclude_categories=("Cs",))  # includes NUL and control characters
NASTY = st.one_of(
    st.text(ANY_CHAR, max_size=30),
    st.text(ODD_PLANES, min_size=1, max_size=10),
    st.text(ANY_CHAR, min_size=1, max_size=8).map(lambda s: s * 700),  # long
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "a\x00b",
            "null",
            "None",
            "undefined",
            "[]",
            "{}",
            '{"a": ',
            "[" * 3000,  # deep JSON nesting
            "true",
            "0",
            "-1",
            "-0",
            "-2147483649",
            str(2**63),
            "9" * 400,
            "1e309",
            "-1e309",
            "NaN",
            "Infinity",
            "0.00000000000000000001",
            "1,5",
            "0001-01-01",
            "9999-12-31",
            "2026-02-30",
            "0000-00-00",
            "10000-01-01",
            "-0001-01-01",
            "2026-13-01",
            "25:61",
            "99:99:99",
            "9999-12-31 23:59:59",
            "0001-01-01 00:00",
            "00000000-0000-0000-0000-000000000000",
            "<script>alert(1)</script>",
            "' OR 1=1 --",
            '=HYPERLINK("x")',
            "../../etc/passwd",
            "%00",
            "\ufeff",
            "\u202e",
            "😀" * 50,
        ]
    ),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
)
DATES = st.dates().map(lambda d: d.isoformat())
TIMES = st.times().map(lambda t: t.isoformat())


def _choice_values(field):
    values = []
    for value, label in getattr(field, "choices", []):
        if isinstance(label, (list, tuple)):  # optgroup
            values += [str(v) for v, _ in label]
        else:
            values.append(str(getattr(value, "value", value)))
    return values[:200]


def _choices(field):
    if isinstance(field, forms.ModelMultipleChoiceField | forms.ModelChoiceField):
        values = [str(pk) for pk in field.queryset.values_list("pk", flat=True)[:20]]
    else:
        values = _choice_values(field)
    return st.sampled_from(values) if values else NASTY


def _json_text():
    leaves = st.none() | st.booleans() | st.integers() | st.text(ANY_CHAR, max_size=10)
    nested = st.recursive(leaves, lambda c: st.lists(c) | st.dictionaries(st.text(), c))
    return nested.map(json.dumps)


# (form field classes, strategy maker): the first match wins, so subclasses come first.
TYPED = [
    ((forms.ChoiceField, forms.ModelChoiceField), _choices),
    ((forms.BooleanField, forms.NullBooleanField), lambda f: st.sampled_from(["on", "", "x"])),
    ((forms.SplitDateTimeField,), lambda f: st.tuples(DATES, TIMES).map(list)),
    ((forms.DateTimeField,), lambda f: st.datetimes().map(lambda d: d.isoformat(sep=" "))),
    ((forms.DateField,), lambda f: DATES),
    ((forms.TimeField,), lambda f: TIMES),
    (
        (forms.DecimalField, forms.FloatField),
        lambda f: st.decimals(allow_nan=False, allow_infinity=False, places=4).map(str),
    ),
    ((forms.IntegerField,), lambda f: st.integers(-(2**40), 2**40).map(str)),
    ((forms.EmailField,), lambda f: st.emails()),
    ((forms.JSONField,), lambda f: _json_text()),
]


def typed(field):
    """Values of the right type (edges included), so validation runs deeper."""
    for classes, make in TYPED:
        if isinstance(field, classes):
            return make(field)
    return st.text(ANY_CHAR, max_size=60)


def value_for(field):
    """Mostly nasty, sometimes well-typed; a multi-widget field gets one value per widget."""
    hidden_pk = isinstance(field, forms.ModelChoiceField) and field.widget.is_hidden
    if hidden_pk:
        # Known Django bug: a number beyond the database's integer in an inline row's hidden
        # id raises OverflowError (SQLite) / DataError (PostgreSQL), which ModelChoiceField
        # does not catch. Real pks and in-range numbers only there, so the rest is fuzzed.
        return st.one_of(typed(field), st.integers(-(2**31), 2**31).map(str), st.just(""))
    return st.one_of(NASTY, typed(field), typed(field))


# ---------------------------------------------------------------- finding the fields


def _widget_names(bound):
    widget = bound.field.widget
    if isinstance(widget, forms.MultiWidget):
        return [f"{bound.html_name}{suffix}" for suffix in widget.widgets_names]
    return [bound.html_name]


def _form_fields(form):
    """[(post names, field)] for one form; hidden fields included."""
    return [(_widget_names(form[name]), field) for name, field in form.fields.items()]


def _formset_spec(formset):
    """Management data as the page gives it, plus the fields of one more (extra) form."""
    management = formset.management_form
    fixed = {
        management.add_prefix(name): str(management[name].value() or 0)
        for name in management.fields
    }
    for form in formset.initial_forms:  # keep existing rows as they are (ids)
        for name in form.fields:
            value = form[name].value()
            if value is not None and not isinstance(value, (list, tuple)):
                fixed[form.add_prefix(name)] = str(value)
    total = formset.total_form_count()
    fixed[management.add_prefix("TOTAL_FORMS")] = str(total + 1)
    extra = formset.empty_form
    extra.prefix = formset.add_prefix(total)
    return fixed, _form_fields(extra)


def _forms_in(context):
    found = []
    for ctx in context or []:
        for value in ctx.flatten().values() if hasattr(ctx, "flatten") else ctx.values():
            found += list(value) if isinstance(value, list | tuple) else [value]
    seen, out = set(), []
    for value in found:
        value = getattr(value, "form", value) if type(value).__name__ == "AdminForm" else value
        value = getattr(value, "formset", value)
        if isinstance(value, ManagementForm):
            continue  # its formset supplies it (with one extra form)
        if isinstance(value, forms.BaseForm | BaseFormSet) and id(value) not in seen:
            seen.add(id(value))
            out.append(value)
    return out


def discover(client, url, extra_forms=()):
    """GET the page and return (fixed data, [(names, field)]) for every form it renders."""
    response = client.get(url)
    assert response.status_code < 500, (url, response.status_code)
    fixed, fields = {}, []
    for form in [*_forms_in(response.context), *extra_forms]:
        if isinstance(form, BaseFormSet):
            more_fixed, more_fields = _formset_spec(form)
            fixed.update(more_fixed)
            fields += more_fields
        else:
            fields += _form_fields(form)
    return fixed, fields
