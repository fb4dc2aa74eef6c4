"""The label review page: the plan's label beside the new one, then apply or keep.

Thin: the review is fetched within the user's centers (404 otherwise); the services decide
(tracker.services.label_review) and each action is one transaction there.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from journey import access

from ..forms import LabelReviewForm
from ..models import PlanReview
from ..services import label_review


def _review(request, review_id):
    reviews = access.scope_to_centers(PlanReview.objects.all(), request.user, "journey__center")
    related = ("plan", "journey__patient", "journey__center", "therapy", "decided_by", "version")
    return get_object_or_404(reviews.select_related(*related), pk=review_id)


def label_review_view(model_admin, request, review_id):
    """GET: the side by side and the dry run; POST: apply or keep (CSRF, one transaction)."""
    review = _review(request, review_id)
    if not request.user.has_perm("tracker.change_planreview"):
        raise PermissionDenied
    form = LabelReviewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            _decide(review, form.cleaned_data, request.user)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect(reverse("admin:tracker_monitoringplan_change", args=[review.plan_id]))
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": _("Label changed: review plan for %(patient)s")
        % {"patient": review.journey.patient},
        "review": review,
        "rows": label_review.compare(review),
        "effect": label_review.dry_run(review) if review.status == "pending" else None,
        "form": form,
    }
    return TemplateResponse(request, "admin/tracker/label_review.html", context)


def _decide(review, data, user):
    if data["action"] == LabelReviewForm.APPLY:
        label_review.apply_review(review, by=user, reason=data["reason"], shown=data["shown"])
    else:
        label_review.keep_plan(review, by=user, reason=data["reason"])


def _add_errors(form, error):
    if hasattr(error, "error_dict"):
        for key, found in error.message_dict.items():
            form.add_error(key if key in form.fields else None, found)
    else:
        form.add_error(None, error.messages)
