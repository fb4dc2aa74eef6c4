"""The tracker in the admin, one module per job (each registers its admins on import).

catalogue: lab tests, units and ranges (administrators edit); results: scheduled labs and
results (read-only lists); plans: the plan page, result entry and the printable plan;
label_review: the page that applies or keeps a plan after a label change; sites: local labs, a
family's usual draw site and one draw's site; worklist: the coordinator's worklist and its CSV.
"""

from . import catalogue, plans, results, sites, worklist  # noqa: F401  (registers the admins)
