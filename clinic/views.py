from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.generic import TemplateView


class HomeView(TemplateView):
    """The landing page after login: what this person's role can use today."""

    template_name = "home.html"


class LoginView(auth_views.LoginView):
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        user = form.get_user()
        messages.success(self.request, f"Signed in as {user.get_full_name() or user.username}.")
        return response


class LogoutView(auth_views.LogoutView):
    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.info(request, "You are signed out.")
        return response


@require_GET
@never_cache
def keepalive(request: HttpRequest) -> HttpResponse:
    """The pages' "Stay signed in": a request like any other, so the session starts
    its idle time again (clinic.idle_sessions). Signed out, it redirects to sign in."""
    return HttpResponse(status=204)
