"""No copy of a page with patient data is kept by a browser or a proxy.

Every response under /portal/ and /admin/ (the family pages, the calendar feed, the care
team's admin) carries ``Cache-Control: private, no-store``. A view that already asked for
both (``never_cache``) keeps its own, stricter header.
"""

PRIVATE_PREFIXES = ("/portal/", "/admin/")
NO_STORE = "private, no-store"


def shows_patient_data(path):
    return path.startswith(PRIVATE_PREFIXES)


def _is_private_no_store(value):
    words = {word.strip().lower() for word in value.split(",")}
    return {"private", "no-store"} <= words


class NoStoreMiddleware:
    """Sets ``Cache-Control: private, no-store`` on every portal and admin response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        value = response.headers.get("Cache-Control", "")
        if shows_patient_data(request.path_info) and not _is_private_no_store(value):
            response.headers["Cache-Control"] = NO_STORE
        return response
