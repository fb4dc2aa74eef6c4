"""The page django-axes answers with while a login is locked out (AXES_LOCKOUT_CALLABLE)."""

from django.conf import settings
from django.shortcuts import render

from .staff_pages import page_context

TEMPLATE = "registration/lockout.html"


def lockout_response(request, original_response=None, credentials=None):
    context = {"failure_limit": settings.AXES_FAILURE_LIMIT, **page_context(request)}
    return render(request, TEMPLATE, context, status=settings.AXES_HTTP_RESPONSE_CODE)
