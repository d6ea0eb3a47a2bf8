from django.urls import path

from . import webhooks

app_name = "twilio"

urlpatterns = [
    path("status/", webhooks.status_callback, name="status"),
    path("inbound/", webhooks.inbound_message, name="inbound"),
]
