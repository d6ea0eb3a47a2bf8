from django.contrib import admin
from django.urls import include, path, register_converter

from . import api, health, languages, views
from .converters import IdConverter

# Before the apps' URLs are included: they use <id:...> for database ids.
register_converter(IdConverter, "id")

admin.site.site_header = admin.site.site_title = "Clinic administration"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", views.LogoutView.as_view(), name="logout"),
    path("accounts/keepalive/", views.keepalive, name="keepalive"),
    path("language/", languages.choose_language, name="set_language"),
    path("patients/", include("patients.urls")),
    path("doctors/", include("doctors.urls")),
    path("schedule/", include("scheduling.urls")),
    path("sessions/", include("sessions_app.urls")),
    path("records/", include("records.urls")),
    path("notifications/", include("notifications.urls")),
    path("payments/", include("payments.urls")),
    path("book/", include("online.urls")),
    path("waitlist/", include("online.staff_urls")),
    path("webhooks/twilio/", include("notifications.webhook_urls")),
    path("webhooks/stripe/", include("payments.webhook_urls")),
    path("api/v1/", api.urls()),
    # Before the admin's own URLs: a signed-in user without admin rights gets the
    # clinic's 403 page, not the admin's sign-in form.
    path("admin/login/", views.admin_login, name="admin_login"),
    path("admin/reports/", include("clinic.reports.urls")),
    path("admin/", admin.site.urls),
    path("favicon.ico", views.favicon, name="favicon"),
    path("healthz", health.healthz, name="healthz"),
]
