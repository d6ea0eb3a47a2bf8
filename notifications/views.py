"""The staff pages of notifications: the outbox (reception and managers watch,
retry and cancel messages), each user's inbox, and the live alerts fragment.
Views parse input and call one selector or service; the rules live in services.py."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.decorators.http import require_GET
from django.views.generic import ListView

from clinic.kernel.polls import polled
from clinic.kernel.users import staff_user

from . import selectors, services
from .describe import outbox_rows
from .exceptions import OutboxError
from .forms import OutboxFilterForm
from .models import Notification


def safe_next(request: HttpRequest, url: str) -> str | None:
    """`url` if it stays on this site, else None."""
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return None


class OutboxView(PermissionRequiredMixin, ListView):
    """Every message the clinic sends or has sent, newest first, with filters."""

    permission_required = "notifications.view_notification"
    template_name = "notifications/outbox.html"
    context_object_name = "notifications"
    paginate_by = 50

    def get_queryset(self):
        self.form = OutboxFilterForm(self.request.GET)
        return selectors.outbox(**self.form.filters())

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(form=self.form, **kwargs)
        context["rows"] = outbox_rows(list(context["notifications"]))
        return context


class OutboxActionView(PermissionRequiredMixin, View):
    """Retry a failed message or cancel a pending one, then back to the outbox as
    it was (filters and page kept through `next`)."""

    permission_required = "notifications.manage_outbox"
    action = ""  # "retry" or "cancel", set in urls.py
    ACTIONS = {
        "retry": (services.retry_notification, "Queued again"),
        "cancel": (services.cancel_notification, "Cancelled"),
    }

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        notification = get_object_or_404(
            Notification.objects.select_related("patient", "user"), pk=pk
        )
        service, done = self.ACTIONS[self.action]
        try:
            service(notification=notification, by=staff_user(request))
        except OutboxError as refusal:
            messages.error(request, refusal.message)
        else:
            messages.success(
                request,
                f"{done}: the {notification.channel_label} to {notification.recipient_name}.",
            )
        return redirect(safe_next(request, request.POST.get("next", "")) or "notifications:outbox")


class InboxView(ListView):
    """The signed-in user's in-app messages; unread ones stand out."""

    template_name = "notifications/inbox.html"
    context_object_name = "notifications"
    paginate_by = 25

    def get_queryset(self):
        return selectors.inbox(user=staff_user(self.request))


class OpenView(View):
    """Opening a message marks it read and follows its link."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        notification = get_object_or_404(selectors.inbox(user=staff_user(request)), pk=pk)
        services.mark_read(notification=notification, user=staff_user(request))
        return redirect(safe_next(request, notification.link) or "notifications:inbox")


class ReadAllView(View):
    def post(self, request: HttpRequest) -> HttpResponse:
        count = services.mark_all_read(user=staff_user(request))
        if count:
            messages.success(request, "All your messages are marked as read.")
        return redirect("notifications:inbox")


def live_marker(request: HttpRequest) -> object:
    return selectors.live_marker(user=staff_user(request))


@require_GET
@polled(
    live_marker,
    templates=["notifications/partials/live.html", "notifications/partials/bell.html"],
)
def live(request: HttpRequest) -> HttpResponse:
    """Polled by htmx: the newest unread alerts, and the bell swapped out of band."""
    return render(
        request,
        "notifications/partials/live.html",
        {"alerts": selectors.unread_alerts(user=staff_user(request))},
    )
