"""Patients and guardians: the coordinator's list of families and the enrollment pages."""

import functools

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.templatetags.admin_list import result_headers
from django.contrib.admin.views.main import IS_FACETS_VAR, ChangeList
from django.db.models import F, FilteredRelation, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from journey import access
from journey.forms import GuardianForm, GuardianshipFormSet
from journey.models import (
    OPEN_STAGES,
    Center,
    CriterionKind,
    Diagnosis,
    EligibilityCriterion,
    Finding,
    Guardian,
    Guardianship,
    Journey,
    Patient,
    Stage,
    Therapy,
)
from journey.portal import invitations
from journey.prepared import MAX_LIST, Prepared

from . import patient_frame
from .labels import age_label, age_limit_label, center_today
from .patient_rows import COLUMNS, ROW_VALUES, SELECT_LABEL, THERAPY, PatientRows, checkbox
from .portal_access import PortalAccessAdminMixin
from .scoping import (
    CenterScopedAdmin,
    ReadOnlyInline,
    ScopedStackedInline,
    ScopedTabularInline,
)
from .young_person import YoungPersonInviteMixin

NO_OPEN_JOURNEY = "none"
MAX_ID = 2**31 - 1  # PostgreSQL's integer
PAGE_SIZE = 100


def with_open_journey(queryset):
    """Annotate each patient with its open journey's id, stage and therapy (one query)."""
    return queryset.annotate(**_open_journey_columns())


@functools.cache
def _open_journey_columns():
    """The four subqueries, built once per process (~0.5 ms a request): annotate() resolves a
    copy of each and leaves these as they are."""
    open_journey = Journey.objects.filter(patient=OuterRef("pk"), stage__in=OPEN_STAGES)
    return {
        "open_journey_id": Subquery(open_journey.values("pk")[:1]),
        "open_stage": Subquery(open_journey.values("stage")[:1]),
        "open_therapy_id": Subquery(open_journey.values("therapy_id")[:1]),
        "open_therapy_name": Subquery(open_journey.values("therapy__name")[:1]),
    }


def page_rows(page):
    """The page's patients as plain tuples (patient_rows.ROW_VALUES), no model instances."""
    return list(_rows_of(page))


def _rows_of(page):
    """The open journey read by a LEFT JOIN on the one open journey a patient may have
    (journey_one_open_per_patient), not with_open_journey's four subqueries (those stay for
    the filters, the sorting and the count, which drops them when unused)."""
    open_row = FilteredRelation("journeys", condition=Q(journeys__stage__in=OPEN_STAGES))
    return page.alias(open_row=open_row).values_list(*ROW_VALUES)


def _first_page(center_ids):
    """The list as it opens for a user at these centers (journey.access: their centers'
    patients), in Django's default order with PatientChangeList's tie-breaker; a test holds
    it to the page PatientAdmin's queryset gives."""
    patients = Patient.objects.filter(center__in=center_ids)
    ordered = patients.order_by(*Patient._meta.ordering, (F("pk") + 0).desc())
    return _rows_of(ordered[:PAGE_SIZE])


# The page most asked for, compiled once (journey.prepared): the list as it opens.
FIRST_PAGE = Prepared(_first_page, center_ids=list)


def _age_limits():
    """Every therapy's age limits (a dozen catalogue rows), with what age_limit reads."""
    limits = EligibilityCriterion.objects.filter(kind=CriterionKind.AGE_UNDER).order_by()
    return limits.only("therapy_id", "kind", "params")


AGE_LIMITS = Prepared(_age_limits)
THERAPY_CHOICES = Prepared(lambda: Therapy.objects.values_list("pk", "name"))


class _AgeLimits:
    """What age_limit reads of a therapy: therapy.criteria.all(), here its age limits."""

    def __init__(self):
        self.found = []

    @property
    def criteria(self):
        return self

    def all(self):
        return self.found


def open_therapies(ids):
    """Each of these therapies' age limits, by therapy id (one query, none without ids)."""
    therapies = {pk: _AgeLimits() for pk in ids}
    for criterion in AGE_LIMITS.run() if therapies else ():
        if criterion.therapy_id in therapies:
            therapies[criterion.therapy_id].found.append(criterion)
    return therapies


def attach_open_therapies(patients):
    """Give each patient `_open_therapy` (open_therapies) for age_limit."""
    therapies = open_therapies({p.open_therapy_id for p in patients if p.open_therapy_id})
    for patient in patients:
        patient._open_therapy = therapies.get(patient.open_therapy_id)


class PatientChangeList(ChangeList):
    """The page's rows come pre-formatted (patient_rows) from plain tuples; Django's own rows
    from model instances when patient_rows does not know the columns or the list is a popup
    (its rows carry data-popup-opener)."""

    def get_results(self, request):
        try:
            super().get_results(request)  # the count
        except OverflowError as error:  # SQLite: a lookup (?center=) past its integers
            raise IncorrectLookupParameters(error) from error
        self.rows_html = None
        if not PatientRows.handles(self):
            attach_open_therapies(self.result_list)
            return
        self.page_queryset = self.result_list  # the same page as model instances (tests)
        self.result_list = self._rows(request)
        therapies = open_therapies({row[THERAPY] for row in self.result_list if row[THERAPY]})
        self.rows_html = PatientRows(self).html(self.result_list, therapies)

    def _rows(self, request):
        """The page's rows: FIRST_PAGE for the list as it opens, else page_rows."""
        ids = access.center_ids_for(request.user)
        if self._as_it_opens() and ids and len(ids) <= MAX_LIST:
            return FIRST_PAGE.run(center_ids=sorted(ids))
        return page_rows(self.page_queryset)

    def _as_it_opens(self):
        """The first page; no search, filter, sort or show-all asked for."""
        asked = set(self.params) - {IS_FACETS_VAR}
        return self.page_num == 1 and not (asked or self.show_all or self.has_active_filters)

    def get_ordering(self, request, queryset):
        """Django's, ties broken by `id + 0` instead of `-pk` for a user scoped to centers:
        the same order, but PostgreSQL then reads a page off patient_center_name (this
        center's patients by name, ~100 rows) instead of patient_name_order (every center's,
        ~1,900 rows fetched and filtered for 100 at 100,000 patients: 2.5 ms, not 0.8)."""
        ordering = list(super().get_ordering(request, queryset))
        scoped = access.center_ids_for(request.user) is not None
        if scoped and ordering and ordering[-1] == "-pk":
            ordering[-1] = (F("pk") + 0).desc()
        return ordering

    @cached_property
    def headers(self):
        """The column headings with their sort links, as Django's result_list makes them."""
        return list(result_headers(self))

    @cached_property
    def num_sorted_fields(self):
        return sum(1 for header in self.headers if header["sortable"] and header["sort_priority"])


def _id_value(value):
    """A filter's id from the query string; anything else is Django's bad lookup (a redirect
    to ?e=1), not a 500 from the database or the ORM."""
    if not value.isascii() or not value.isdigit() or int(value) > MAX_ID:
        raise IncorrectLookupParameters(value)
    return int(value)


class StageFilter(admin.SimpleListFilter):
    title = _("stage")
    parameter_name = "stage"

    def lookups(self, request, model_admin):
        open_choices = [(s.value, s.label) for s in Stage if s in OPEN_STAGES]
        return [*open_choices, (NO_OPEN_JOURNEY, _("No open journey"))]

    def queryset(self, request, queryset):
        if self.value() == NO_OPEN_JOURNEY:
            return queryset.filter(open_stage__isnull=True)
        if self.value():
            return queryset.filter(open_stage=self.value())
        return queryset


class TherapyFilter(admin.SimpleListFilter):
    title = _("therapy")
    parameter_name = "therapy"

    def lookups(self, request, model_admin):
        return [(str(pk), name) for pk, name in THERAPY_CHOICES.run()]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(open_therapy_id=_id_value(self.value()))
        return queryset


class CenterFilter(admin.SimpleListFilter):
    """Shown to people who work at more than one center (and superusers)."""

    title = _("center")
    parameter_name = "center"

    def lookups(self, request, model_admin):
        return [(str(c.pk), c.name) for c in access.centers_for(request.user)]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(center_id=_id_value(self.value()))
        return queryset


class GuardianshipInline(ScopedTabularInline):
    model = Guardianship
    formset = GuardianshipFormSet
    autocomplete_fields = ["guardian"]
    fields = ["guardian", "relationship", "role"]
    extra = 0


class DiagnosisInline(ScopedStackedInline):
    model = Diagnosis
    fields = [
        "condition",
        ("gene", "variant", "variant_kind"),
        ("zygosity", "exon_start", "exon_end"),
        ("genotype", "smn2_copies"),
        ("confirmed_by", "confirmed_on", "lab"),
    ]

    def get_extra(self, request, obj=None, **kwargs):
        return 1 if obj is None else 0


class FindingInline(ScopedTabularInline):
    model = Finding
    fields = ["finding_type", "value", "observed_on", "note", "recorded_by"]
    readonly_fields = ["recorded_by"]
    extra = 0


class JourneyInline(ReadOnlyInline):
    model = Journey
    fields = ["journey_link", "stage", "therapy", "infusion_date", "opened_at"]
    readonly_fields = fields
    verbose_name_plural = _("journeys")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("therapy")

    @admin.display(description=_("journey"))
    def journey_link(self, journey):
        url = reverse("admin:journey_journey_change", args=[journey.pk])
        return format_html('<a href="{}">{}</a>', url, _("Open the journey page"))


@admin.register(Patient)
class PatientAdmin(YoungPersonInviteMixin, CenterScopedAdmin):
    list_display = list(COLUMNS)  # the columns patient_rows pre-formats
    list_select_related = ["center"]
    # 100 rows a page, pre-formatted (patient_rows); one COUNT for the pager, not a second
    # one of every patient the user may see.
    list_per_page = PAGE_SIZE
    show_full_result_count = False
    search_fields = ["first_name", "last_name", "medical_record_number"]
    fields = [
        "center",
        ("first_name", "last_name"),
        ("date_of_birth", "age"),
        ("sex", "medical_record_number"),
        "journey",
        "age_limit_deadline",
    ]
    readonly_fields = ["age", "journey", "age_limit_deadline"]
    inlines = [GuardianshipInline, DiagnosisInline, FindingInline, JourneyInline]

    def get_queryset(self, request):
        return with_open_journey(super().get_queryset(request))

    def get_changelist(self, request, **kwargs):
        return PatientChangeList

    def changelist_view(self, request, extra_context=None):
        """Django's, the whole page written in Python (patient_frame) where it can be."""
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None)
        if context and patient_frame.handles(context):
            context["patient_page"] = patient_frame.page_html(context, request)
            response.template_name = patient_frame.TEMPLATE
        return response

    def get_list_filter(self, request):
        ids = access.center_ids_for(request.user)
        several = ids is None or len(ids) > 1
        return [StageFilter, TherapyFilter, *([CenterFilter] if several else [])]

    def get_inlines(self, request, obj):
        return self.inlines if obj else [GuardianshipInline, DiagnosisInline, FindingInline]

    def save_formset(self, request, form, formset, change):
        """New diagnoses and findings remember who recorded them."""
        for instance in formset.save(commit=False):
            if hasattr(instance, "recorded_by_id") and instance.pk is None:
                instance.recorded_by = request.user
            instance.save()
        for instance in formset.deleted_objects:
            instance.delete()
        formset.save_m2m()

    def action_checkbox(self, patient):
        """Django's checkbox as one format_html: its widget template costs ~0.5 ms a row."""
        return checkbox(patient, gettext(SELECT_LABEL))

    @admin.display(description=_("name"), ordering="last_name")
    def name(self, patient):
        return f"{patient.last_name}, {patient.first_name}"

    @admin.display(description=_("age"))
    def age(self, patient):
        if not patient.pk:
            return "–"
        return age_label(patient.date_of_birth, center_today(patient.center))

    @admin.display(description=_("current stage"), ordering="open_stage")
    def current_stage(self, patient):
        if not patient.open_stage:
            return "–"
        url = reverse("admin:journey_journey_change", args=[patient.open_journey_id])
        return format_html('<a href="{}">{}</a>', url, Stage(patient.open_stage).label)

    @admin.display(description=_("therapy"), ordering="open_therapy_name")
    def therapy(self, patient):
        return patient.open_therapy_name or "–"

    @admin.display(description=_("age-limit deadline"))
    def age_limit_deadline(self, patient):
        if not getattr(patient, "open_therapy_id", None):
            return "–"
        therapy = getattr(patient, "_open_therapy", None) or Therapy.objects.get(
            pk=patient.open_therapy_id
        )
        return age_limit_label(patient, therapy, center_today(patient.center)) or "–"

    @admin.display(description=_("journey"))
    def journey(self, patient):
        if not patient.pk:
            return "–"
        if patient.open_journey_id:
            url = reverse("admin:journey_journey_change", args=[patient.open_journey_id])
            return format_html('<a href="{}">{}</a>', url, _("Open the current journey"))
        url = reverse("admin:journey_journey_add") + f"?patient={patient.pk}"
        return format_html('<a href="{}">{}</a>', url, _("Start a journey"))


class ChildrenInline(ReadOnlyInline):
    model = Guardianship
    fields = ["patient", "relationship", "role"]
    readonly_fields = fields
    verbose_name_plural = _("children")


_EMAIL_CHANGED = _(
    "The login address changed with the email: the open invitation link no longer works, "
    "nor do password reset links, and both the old and the new address were told."
)


@admin.register(Guardian)
class GuardianAdmin(PortalAccessAdminMixin, CenterScopedAdmin):
    list_display = ["full_name", "email", "phone", "center", "has_login", "portal_status"]
    list_select_related = ["center", "user"]
    search_fields = ["full_name", "email"]
    form = GuardianForm
    fields = ["center", "full_name", "email", "phone", "time_zone", "language"]
    readonly_fields = ["portal_access_link"]
    inlines = [ChildrenInline]

    def get_fields(self, request, obj=None):
        return [*self.fields, "portal_access_link"] if obj else self.fields

    def get_changeform_initial_data(self, request):
        """A new guardian lives where their center is, unless the coordinator says otherwise."""
        initial = super().get_changeform_initial_data(request)
        center = initial.get("center")
        if center and "time_zone" not in initial:
            initial["time_zone"] = Center.objects.get(pk=center).time_zone
        return initial

    def save_model(self, request, obj, form, change):
        """A new guardian whose zone was left as it was takes their center's. A changed email
        goes through invitations.change_email (login address, links, both told)."""
        if not change:
            if "time_zone" not in form.changed_data:
                obj.time_zone = obj.center.time_zone
            return super().save_model(request, obj, form, change)
        new_email = obj.email
        email_changed = "email" in form.changed_data
        if email_changed:
            obj.email = form.initial["email"]  # the service below moves it, with the login
        super().save_model(request, obj, form, change)
        if email_changed:
            invitations.change_email(obj, new_email, by=request.user)
            messages.info(request, _EMAIL_CHANGED)
        return None

    def scope(self, request, queryset):
        """Guardians of the user's centers, or of one of their patients (journey.access)."""
        return queryset.filter(pk__in=access.guardians_for_staff(request.user).values("pk"))

    @admin.display(description=_("portal login"), boolean=True)
    def has_login(self, guardian):
        return guardian.user_id is not None
