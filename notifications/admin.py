from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from clinic.kernel.admin import ReadOnlyAdminMixin

from . import services
from .exceptions import OutboxError
from .models import InboundMessage, Notification


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only for the manager: messages are written by the rules and sent by the
    worker. Retrying and cancelling go through the outbox services, as on the
    outbox page."""

    list_display = ["send_after", "recipient", "channel", "template", "status", "attempts"]
    list_filter = ["status", "channel", "template"]
    search_fields = [
        "idempotency_key",
        "provider_message_id",
        "patient__family_name",
        "user__username",
    ]
    date_hierarchy = "send_after"
    list_select_related = ["patient", "user"]
    actions = ["retry_failed", "cancel_pending"]

    @admin.display(description="Recipient")
    def recipient(self, notification: Notification) -> str:
        return notification.recipient_name

    def has_manage_outbox_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("notifications.manage_outbox")

    @admin.action(description="Retry failed messages", permissions=["manage_outbox"])
    def retry_failed(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        self._apply(request, queryset, services.retry_notification, "queued again")

    @admin.action(description="Cancel pending messages", permissions=["manage_outbox"])
    def cancel_pending(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        self._apply(request, queryset, services.cancel_notification, "cancelled")

    def _apply(
        self,
        request: HttpRequest,
        queryset: QuerySet[Notification],
        service: Callable[..., Notification],
        done: str,
    ) -> None:
        """Run the service on each row: the service decides which rows it may change,
        and each refusal is reported with its reason."""
        changed, refused = 0, []
        for notification in queryset.select_related("patient", "user"):
            try:
                service(notification=notification, by=request.user)
            except OutboxError as refusal:
                refused.append(f"#{notification.pk} ({refusal.message})")
            else:
                changed += 1
        noun = "message" if changed == 1 else "messages"
        self.message_user(request, f"{changed} {noun} {done}.", messages.SUCCESS)
        if refused:
            self.message_user(request, f"Left as they were: {'; '.join(refused)}", messages.WARNING)


@admin.register(InboundMessage)
class InboundMessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The SMS patients sent in, and what was done: read-only, a record of consent
    changes and of appointments confirmed or cancelled by reply."""

    list_display = ["received_at", "from_number", "body", "outcome"]
    search_fields = ["from_number", "message_sid"]
    date_hierarchy = "received_at"
