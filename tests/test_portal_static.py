"""Static files in production: hashed names, gzip, and caching for a long time (WhiteNoise)."""

import pytest
from django.core.management import call_command
from django.test import Client

PRODUCTION_STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}


@pytest.fixture
def collected(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = PRODUCTION_STORAGES
    settings.WHITENOISE_USE_FINDERS = False
    settings.WHITENOISE_AUTOREFRESH = False
    settings.WHITENOISE_MAX_AGE = 3600
    call_command("collectstatic", interactive=False, verbosity=0)
    return tmp_path


def test_portal_css_is_served_hashed_compressed_and_cached_for_long(collected, db):
    from django.templatetags.static import static

    url = static("portal/portal.css")
    assert url != "/static/portal/portal.css"  # a content hash in the name
    response = Client().get(url, HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert "immutable" in response["Cache-Control"]
    assert int(response["Cache-Control"].split("max-age=")[1].split(",")[0]) >= 365 * 86400
