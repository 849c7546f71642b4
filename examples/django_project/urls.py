from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def index(request: HttpRequest) -> HttpResponse:
    return HttpResponse("my app")


urlpatterns = [
    path("", index),
    path("callbacks", include("bwhooks.adapters.django.urls")),  # settings.BWHOOKS["RECEIVER"]
]
