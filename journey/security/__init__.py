"""Authentication hardening: the admin's second factor, session limits and rate limits.

docs/security.md describes the rules; each module here is one of them.
"""
