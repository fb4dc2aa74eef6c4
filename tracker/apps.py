from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop


class TrackerConfig(AppConfig):
    name = "tracker"
    verbose_name = _("Monitoring")

    def ready(self):
        from django.db.models.signals import post_save

        from journey.models import Therapy
        from journey.portal.frame import add_child_link
        from journey.portal.pages import portal_card_loaded, portal_journeys_loaded
        from journey.signals import journey_ended, journeys_moved, schedule_changed, therapy_changed

        from . import followup
        from .portal.card import attach_card_facts
        from .portal.summary import attach_next_draws
        from .services import on_therapy_saved, register_worklist_section
        from .services.journey_end import on_journey_ended
        from .services.plans import on_schedule_changed, on_therapy_changed
        from .services.transfers import on_journeys_moved

        # Day 0 set or moved, therapy chosen or changed: the plan is (re)drawn after commit; a
        # failed draw is retried by a task (tracker.tasks.redraw_plan).
        schedule_changed.connect(on_schedule_changed, dispatch_uid="tracker.generate_plan")
        therapy_changed.connect(on_therapy_changed, dispatch_uid="tracker.therapy_plan")
        # A transfer moves the labs' and results' copy of the center, in its transaction.
        journeys_moved.connect(on_journeys_moved, dispatch_uid="tracker.journeys_moved")
        # A journey that ends cancels its open labs, in the stage move's transaction.
        journey_ended.connect(on_journey_ended, dispatch_uid="tracker.journey_ended")
        # A label edit (loader or admin) opens label reviews, in the same transaction.
        post_save.connect(on_therapy_saved, sender=Therapy, dispatch_uid="tracker.label_review")
        portal_journeys_loaded.connect(attach_next_draws, dispatch_uid="tracker.next_draw")
        portal_card_loaded.connect(attach_card_facts, dispatch_uid="tracker.card_facts")
        # The tracker's pages in the child's navigation.
        add_child_link("portal_tracker:plan", "plan", gettext_noop("Care plan"))
        add_child_link("portal_tracker:labs", "labs", gettext_noop("Lab tests"))
        add_child_link("portal_tracker:calendar", "calendar", gettext_noop("Calendar"))
        add_child_link("portal_tracker:record", "record", gettext_noop("Download record"))
        # Children at risk of loss to follow-up (journey.followup marks them).
        register_worklist_section(followup.at_risk)
