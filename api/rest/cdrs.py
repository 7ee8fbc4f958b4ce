"""CDRs, read-only (voip.models.Cdr, read through voip.selectors)."""
from rest_framework import serializers, viewsets

from api.rest.views import SelectorRows
from voip import selectors
from voip.models import Cdr


class CdrSerializer(serializers.ModelSerializer):
    class Meta:
        model = Cdr
        fields = "__all__"


class CdrViewSet(SelectorRows, viewsets.ReadOnlyModelViewSet):
    resource = "cdrs"
    selector = staticmethod(selectors.cdrs_newest_first)
    serializer_class = CdrSerializer
    filterset_fields = ["service", "source", "cdr_import", "status", "direction"]
