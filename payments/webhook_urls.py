from django.urls import path

from . import webhooks

app_name = "stripe"

urlpatterns = [
    path("", webhooks.stripe_webhook, name="webhook"),
]
