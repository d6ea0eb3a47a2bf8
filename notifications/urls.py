from django.urls import path

from . import views

app_name = "notifications"

urlpatterns = [
    path("", views.InboxView.as_view(), name="inbox"),
    path("live/", views.live, name="live"),
    path("read-all/", views.ReadAllView.as_view(), name="read_all"),
    path("<id:pk>/open/", views.OpenView.as_view(), name="open"),
    path("outbox/", views.OutboxView.as_view(), name="outbox"),
    path(
        "outbox/<id:pk>/retry/",
        views.OutboxActionView.as_view(action="retry"),
        name="retry",
    ),
    path(
        "outbox/<id:pk>/cancel/",
        views.OutboxActionView.as_view(action="cancel"),
        name="cancel",
    ),
]
