"""The public booking site's pages (being built: see online/services.py)."""

from django.http import Http404, HttpRequest, HttpResponse


def home(request: HttpRequest) -> HttpResponse:
    raise Http404


def manage(request: HttpRequest, token: str) -> HttpResponse:
    raise Http404


def offer(request: HttpRequest, token: str) -> HttpResponse:
    raise Http404
