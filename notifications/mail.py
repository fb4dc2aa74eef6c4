"""The local mail backend: each email becomes one INFO record in the log, nothing is sent.

`make demo` and any run without EMAIL_URL use it (config/settings.py), so the worker's log
shows who got which email, its subject and its text, beside the other INFO lines, instead of
raw MIME on the console. Production sets EMAIL_URL (SMTP).
"""

import logging

from django.core.mail.backends.base import BaseEmailBackend

log = logging.getLogger("notifications.mail")


class LogBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        for message in email_messages:
            log.info(
                "email to %s: %s\n%s",
                ", ".join(message.recipients()),
                message.subject,
                message.body,
            )
        return len(email_messages)
