from django.urls import path

from . import api

app_name = "fhir"

urlpatterns = [
    path("Observation", api.observation, name="observation"),
    path("Bundle", api.bundle, name="bundle"),
]
