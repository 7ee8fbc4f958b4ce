"""Client-area payment pages, merged into the `clientarea` namespace by config.urls_clientarea."""
from django.urls import path

from payments import views

urlpatterns = [
    path("invoices/<int:invoice_id>/pay/<slug:gateway>/", views.pay, name="invoice_pay"),
    path("payments/return/", views.payment_return, name="payment_return"),
    path("payments/cards/", views.payment_methods, name="payment_methods"),
    path("payments/cards/<int:method_id>/remove/", views.payment_method_remove, name="payment_method_remove"),
]
