"""Reception's waitlist pages, at /waitlist/ (staff login)."""

from django.urls import path

from . import staff_views

app_name = "waitlist"

urlpatterns = [
    path("", staff_views.WaitlistView.as_view(), name="list"),
    path("<id:pk>/priority/", staff_views.PriorityView.as_view(), name="priority"),
    path("<id:pk>/remove/", staff_views.RemoveView.as_view(), name="remove"),
]
