"""Text messages: numbers confirmed by a code, the provider behind a small backend interface,
dispatch through the same outbox, lease, breaker and outcomes as email (docs/reminders.md)."""
