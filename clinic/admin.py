"""The admin of API tokens, and the staff user's language on Django's user admin."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext, gettext_lazy, ngettext

from .kernel.roles import DOCTORS
from .models import ApiToken, StaffProfile
from .tokens import issue_token, revoke_token


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Managers make tokens for integrations: the token is shown once, on saving,
    and only its hash is kept. A token is revoked, never edited."""

    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix", "user__username"]
    list_select_related = ["user"]
    fields = ["user", "name"]
    actions = ["revoke"]

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # A token acts as its user. A manager makes tokens for integrations and
        # staff, but not for a doctor (it would write and sign clinical notes) nor
        # a superuser; only a superuser may.
        if db_field.name == "user" and not request.user.is_superuser:
            kwargs["queryset"] = (
                get_user_model()
                .objects.filter(is_active=True, is_superuser=False)
                .exclude(groups__name=DOCTORS)
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj: ApiToken, form, change) -> None:
        row, token = issue_token(user=obj.user, name=obj.name)
        obj.pk = row.pk
        self.message_user(
            request,
            gettext("The token for %(user)s is %(token)s — copy it now: it is not shown again.")
            % {"user": row.user, "token": token},
            messages.WARNING,
        )

    @admin.action(description=gettext_lazy("Revoke the selected tokens"))
    def revoke(self, request, queryset) -> None:
        for token in queryset:
            revoke_token(token=token)
        count = queryset.count()
        self.message_user(
            request,
            ngettext("%(count)d token revoked.", "%(count)d tokens revoked.", count)
            % {"count": count},
            messages.SUCCESS,
        )


# The manager's dashboard on the admin's home (clinic/reports/dashboard.py).
from .reports.dashboard import install as install_dashboard  # noqa: E402

install_dashboard(admin.site)


# --- A staff user's language, set by the manager with the user -------------------------


class StaffProfileInline(admin.StackedInline):
    model = StaffProfile
    can_delete = False
    fields = ["language"]
    verbose_name_plural = gettext_lazy("language of their pages")


class ClinicUserAdmin(UserAdmin):
    """Django's user admin, with the language the user's pages come in."""

    inlines = [*UserAdmin.inlines, StaffProfileInline]


admin.site.unregister(get_user_model())
admin.site.register(get_user_model(), ClinicUserAdmin)
