"""Payments URLs outside the client area (included at /payments/ by config.urls): gateway webhooks."""
urlpatterns = []
