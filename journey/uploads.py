"""Files a family sends: the type read from the content, a size cap, private storage.

Shared by every app that takes uploads from families (reports' outside results, conversations'
attachments). The type comes from the file's first bytes (`filetype`), never its name or the
browser's word; the stored name is random; the storage has no URL, so only a view that checks
access can serve a file.
"""

import os

import filetype
from django.conf import settings
from django.core.files.storage import FileSystemStorage

HEAD_BYTES = 261  # what filetype reads to decide


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
