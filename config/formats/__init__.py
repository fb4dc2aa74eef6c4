"""Date formats for every language: unambiguous ISO dates in and out (never 5/12/2026).

Django's locale formats read 5/12/2026 as 12 May in English and 5 December in Spanish; the
admin's "Today" writes the first input format. Here both languages write and read
year-month-day (or a month by name), and short dates print as 2026-12-05.
"""
