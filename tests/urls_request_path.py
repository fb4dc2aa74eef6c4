"""Test URLconf: the project's URLs plus a view that reads what every logged-in page reads
(the user, their guardian row, whether the second factor passed) and nothing else."""

from django.http import JsonResponse
from django.urls import include, path


def whoami(request):
    user = request.user
    guardian = getattr(request, "guardian", None)
    return JsonResponse(
        {
            "user": user.pk if user.is_authenticated else None,
            "verified": bool(user.is_authenticated and user.is_verified()),
            "guardian": guardian.pk if guardian else None,
            "center": guardian.center.name if guardian else None,
            "language": getattr(request, "LANGUAGE_CODE", None),
        }
    )


urlpatterns = [
    path("whoami/", whoami),
    path("", include("config.urls")),
]
