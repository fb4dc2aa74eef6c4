"""Version tokens: cache entries that are never served after the data under them changed.

The scheme behind the portal's page cache (journey/portal/cache.py), the worklist's
(tracker/worklist_cache.py) and the cached logins (journey/security/lookups.py and
admin_site.py). A version key holds a random token; a cached value is stored with the tokens
it was built under and counts only while they are all current. A reader takes its tokens
*before* it reads the database; a writer deletes the token at once and again after it
commits (``forget``). So a value built from data older than a commit can only be stored under
a token that commit already deleted, and the next reader draws a new one.
"""

import logging
import uuid
from hashlib import blake2b
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

log = logging.getLogger(__name__)


def database_tag():
    """Two databases that share one Redis (a test run beside a dev one) overlap in pks."""
    name = str(settings.DATABASES["default"]["NAME"])
    return blake2b(name.encode(), digest_size=4).hexdigest()


def release_digest(patterns):
    """A digest of the files (globs under BASE_DIR) that draw a cached value: a deploy that
    changes any of them starts from an empty cache."""
    root = Path(settings.BASE_DIR)
    digest = blake2b(digest_size=6)
    for path in sorted(p for pattern in patterns for p in root.glob(pattern)):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def draw(keys, found, seconds):
    """The current token of each version key (from `found`, a get_many of them), drawing a
    new one where a writer deleted it."""
    tokens = []
    for key in keys:
        token = found.get(key)
        if token is None:
            token = uuid.uuid4().hex[:16]
            if not cache.add(key, token, seconds):
                token = cache.get(key) or token  # another reader drew one first
        tokens.append(token)
    return tuple(tokens)


def forget(keys):
    """The data under these version keys changed: delete them now and after the commit."""
    keys = list(keys)
    if not keys:
        return

    def delete():
        try:
            cache.delete_many(keys)
        except Exception:  # a TTL bounds the damage; the write itself must not fail
            log.exception("version tokens: could not delete %s", keys)

    delete()
    transaction.on_commit(delete, robust=True)
