"""The REST API (Django REST framework): viewsets calling the portal services; see docs/api.md."""
