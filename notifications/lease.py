"""A batch's lease, kept alive while the batch sends.

The lease is short (DISPATCH_LEASE_SECONDS, 20 s) so that a dead worker's rows go back to the
queue quickly. A live worker's batch may take far longer: a slow relay answers each command
just inside the SMTP timeout, which bounds one socket operation, not a batch. So a thread
renews the lease every third of its length while the batch sends, and the batch starts no
send once half the lease has passed since the last renewal (the thread could not reach the
database): it releases the rest instead. A batch never outlives its lease.
"""

import datetime as dt
import logging
import threading
import time

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from .models import Reminder
from .models import Status as S

log = logging.getLogger(__name__)


def seconds():
    return settings.NOTIFICATIONS_LEASE_SECONDS


def until(now):
    """The lease end for a claim or renewal at `now`."""
    return now + dt.timedelta(seconds=seconds())


class Keeper:
    """`with Keeper(token):` renews the rows held under `token` until the block ends."""

    def __init__(self, token):
        self.token = token
        self.length = seconds()
        self.renewed = time.monotonic()  # the claim, just before
        self.renewals = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{token}", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._done.set()
        self._thread.join()

    def may_start(self):
        """True while at least half the lease is left: a send started now ends inside it."""
        return time.monotonic() - self.renewed < self.length / 2

    def _run(self):
        try:
            while not self._done.wait(self.length / 3):
                self._renew()
        finally:
            connection.close()  # this thread's own connection

    def _renew(self):
        started = time.monotonic()
        held = Reminder.objects.filter(lease_token=self.token, status=S.SENDING)
        try:
            held.update(lease_until=until(timezone.now()))
        except DatabaseError:
            log.warning("lease renewal failed", exc_info=True)
            return
        self.renewed, self.renewals = started, self.renewals + 1
