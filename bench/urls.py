"""The project's URLs plus a one-line view: the floor every page is compared with."""

from django.http import HttpResponse
from django.urls import include, path


def hello(request):
    return HttpResponse(b"hello", content_type="text/plain")


urlpatterns = [
    path("bench/hello/", hello, name="bench_hello"),
    path("", include("config.urls")),
]
