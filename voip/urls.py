"""VoIP URLs outside the client area (included at /voip/ by config.urls): the Vodia CDR push endpoint."""
from django.urls import path

from voip import views

app_name = "voip"

urlpatterns = [
    path("cdr-push/<int:source_id>/", views.vodia_push, name="vodia_push"),
]
