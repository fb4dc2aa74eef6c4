"""Private uploads: files only a view that checks access may serve.

Shared by every app that takes files (reports' outside results, conversations' attachments,
custody documents): the type is read from the file's first bytes (JPEG, PNG or PDF only, never
the name or the browser's word), the size is capped (REPORTS_UPLOAD_MAX_BYTES), and the file is
stored under a random name in WAYPOINT_PRIVATE_MEDIA_ROOT (outside the web root, no URL).
"""

import os

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.http import FileResponse, Http404
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

HEAD_BYTES = 261  # what filetype reads to decide


class FileType(models.TextChoices):
    JPEG = "jpg", "JPEG"
    PNG = "png", "PNG"
    PDF = "pdf", "PDF"


ALLOWED = {
    "image/jpeg": FileType.JPEG,
    "image/png": FileType.PNG,
    "application/pdf": FileType.PDF,
}
MIME = {kind: mime for mime, kind in ALLOWED.items()}


class UploadRejected(ValueError):
    """`too_large` True: over the size cap; False: not one of the allowed types."""

    def __init__(self, too_large):
        super().__init__("too large" if too_large else "type not allowed")
        self.too_large = too_large


def checked_mime(upload, allowed, max_bytes):
    """The upload's MIME type read from its content, if it is in `allowed` and not larger
    than `max_bytes`; UploadRejected otherwise."""
    if upload.size > max_bytes:
        raise UploadRejected(too_large=True)
    upload.seek(0)
    head = upload.read(HEAD_BYTES)
    upload.seek(0)
    kind = filetype.guess(head) if head else None
    if kind is None or kind.mime not in allowed:
        raise UploadRejected(too_large=False)
    return kind.mime


class PrivateStorage(FileSystemStorage):
    """Files only a view that checks access may serve: no URL, the root read from settings."""

    @property
    def base_location(self):
        return str(settings.WAYPOINT_PRIVATE_MEDIA_ROOT)

    @property
    def location(self):
        return os.path.abspath(self.base_location)

    @property
    def base_url(self):
        return None


def private_storage():
    return PrivateStorage()


def checked_type(upload, *, field, wrong_type):
    """The upload's FileType by its content, or a ValidationError on `field` (too large, or not
    a JPEG, PNG or PDF: then `wrong_type` is the message)."""
    limit = settings.REPORTS_UPLOAD_MAX_BYTES
    try:
        return ALLOWED[checked_mime(upload, ALLOWED, limit)]
    except UploadRejected as exc:
        if not exc.too_large:
            raise ValidationError({field: wrong_type}) from None
        message = _("The file is larger than %(size)s: send a smaller photo or PDF.")
        raise ValidationError({field: message % {"size": filesizeformat(limit)}}) from None


def attachment(field_file, file_type, filename):
    """A private file as a download: no cache, no type sniffing, a plain name (404 if gone)."""
    if not field_file:
        raise Http404
    try:
        handle = field_file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(
        handle, as_attachment=True, filename=filename, content_type=MIME[file_type]
    )
    response["Cache-Control"] = "no-store, private"
    response["X-Content-Type-Options"] = "nosniff"
    return response
