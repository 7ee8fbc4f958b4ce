"""Payments URLs outside the client area (included at /payments/ by config.urls): gateway webhooks."""
from django.urls import path

from payments import views

urlpatterns = [
    path("webhook/<slug:gateway>/", views.webhook, name="payments_webhook"),
]
