"""CDRs, read-only, when the VoIP app has its Cdr model (voip.models.Cdr)."""
from django.apps import apps
from rest_framework import serializers, viewsets

Cdr = apps.get_model("voip", "Cdr")


class CdrSerializer(serializers.ModelSerializer):
    class Meta:
        model = Cdr
        fields = "__all__"


class CdrViewSet(viewsets.ReadOnlyModelViewSet):
    resource = "cdrs"
    queryset = Cdr.objects.order_by("-pk")
    serializer_class = CdrSerializer
    filterset_fields = ["service", "source", "cdr_import", "status", "direction"]
