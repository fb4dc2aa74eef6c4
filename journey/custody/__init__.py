"""Custody (issue 17 items 1 and 2): restrictions, adult guardianships, the young person's own
account (services.py) and the age transitions a center's policy announces and applies
(ages.py). Access itself is decided in journey.access."""
