"""Client-area billing pages, merged into the `clientarea` namespace by config.urls_clientarea: the dashboard,
services, invoices and credit notes, and paying, ordering, changing and cancelling."""
from django.urls import path

from billing import views, views_credit_notes

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("services/", views.service_list, name="services"),
    path("services/<int:service_id>/", views.service_detail, name="service"),
    path("invoices/", views.invoice_list, name="invoices"),
    path("invoices/<int:invoice_id>/", views.invoice_detail, name="invoice"),
    path("invoices/<int:invoice_id>/pdf/", views.invoice_pdf, name="invoice_pdf"),
    path("invoices/<int:invoice_id>/pay-from-credit/", views.invoice_pay_credit, name="invoice_pay_credit"),
    path("credit-notes/", views_credit_notes.credit_note_list, name="credit_notes"),
    path("credit-notes/<int:credit_note_id>/", views_credit_notes.credit_note_detail, name="credit_note"),
    path("credit-notes/<int:credit_note_id>/pdf/", views_credit_notes.credit_note_pdf, name="credit_note_pdf"),
    path("add-funds/", views.add_funds, name="add_funds"),
    path("order/", views.order, name="order"),
    path("services/<int:service_id>/change/", views.service_change, name="service_change"),
    path("services/<int:service_id>/cancel/", views.service_cancel, name="service_cancel"),
]
