"""Signals the conversations app sends; notifications and audit listen in their ready().

Sent after commit (message_posted, thread_read) or after a page answered (thread_viewed).
"""

from django.dispatch import Signal

# message=Message: someone wrote in a thread (the other side is told a message is waiting).
message_posted = Signal()
# thread=Thread, user=User: someone read a thread up to now (a "waiting" email not sent yet
# is no longer due).
thread_read = Signal()
# request=HttpRequest, thread=Thread: a guardian or a staff member opened a thread (audit).
thread_viewed = Signal()
