from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.utils.translation import gettext as _
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
        name = user.get_full_name() or user.username
        messages.success(self.request, _("Signed in as %(name)s.") % {"name": name})
        return response


class LogoutView(auth_views.LogoutView):
    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.info(request, _("You are signed out."))
        return response


@login_not_required
def admin_login(request: HttpRequest) -> HttpResponse:
    """The admin's sign-in page, for those not signed in. A receptionist or doctor
    who opens /admin/ is signed in already, and the admin would offer them its form
    to sign in as someone else: they get the friendly 403 instead."""
    if request.user.is_authenticated and not admin.site.has_permission(request):
        raise PermissionDenied(_("The administration is for the clinic's managers."))
    return admin.site.login(request)


@login_not_required
@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico on their own; the icon is a static SVG."""
    return HttpResponsePermanentRedirect(static("img/favicon.svg"))


@require_GET
@never_cache
def keepalive(request: HttpRequest) -> HttpResponse:
    """The pages' "Stay signed in": a request like any other, so the session starts
    its idle time again (clinic.idle_sessions). Signed out, it redirects to sign in."""
    return HttpResponse(status=204)
