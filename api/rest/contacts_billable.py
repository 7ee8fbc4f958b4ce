"""REST: a client's contacts (scopes clients.read / clients.write) and billable items (invoices.read /
invoices.write). Writes go through portal.contacts and billing.services.billable, audited with the key."""
from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from api.rest.views import SelectorRows, actor, body
from billing import selectors as billing_selectors
from billing.models import BillableItem
from billing.services.billable import EDITABLE_FIELDS, billable_item_create, billable_item_update
from portal.contacts import CONTACT_FIELDS, contact_create, contact_delete, contact_update
from portal import selectors as portal_selectors
from portal.models import Contact


class ContactSerializer(serializers.ModelSerializer):
    class Meta:
        model = Contact
        fields = ["id", "client", *CONTACT_FIELDS, "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]

    def to_internal_value(self, data):
        # Upper-case the country before the model's validator (two capital letters) sees it.
        if hasattr(data, "get") and isinstance(data.get("country"), str):
            data = {**data, "country": data["country"].strip().upper()}
        return super().to_internal_value(data)


class ContactUpdateSerializer(ContactSerializer):
    class Meta(ContactSerializer.Meta):
        read_only_fields = ["client", "created_at", "updated_at"]


class ServiceWriteViewSet(SelectorRows, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                          mixins.UpdateModelMixin, viewsets.GenericViewSet):
    """Create and PATCH through the portal's audited service functions rather than serializer.save()."""
    update_serializer_class = None
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_serializer_class(self):
        return self.update_serializer_class if self.action == "partial_update" else self.serializer_class

    def create_object(self, *, client, actor, data):
        raise NotImplementedError

    def update_object(self, obj, *, actor, changes):
        raise NotImplementedError

    def create(self, request):
        data = dict(body(self.serializer_class, request))
        obj = self.create_object(client=data.pop("client"), actor=actor(request), data=data)
        return Response(self.serializer_class(obj).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        serializer = self.update_serializer_class(self.get_object(), data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        obj = self.update_object(serializer.instance, actor=actor(request), changes=dict(serializer.validated_data))
        return Response(self.serializer_class(obj).data)


@extend_schema_view(partial_update=extend_schema(request=ContactUpdateSerializer, responses=ContactSerializer))
class ContactViewSet(mixins.DestroyModelMixin, ServiceWriteViewSet):
    resource = "clients"
    selector = staticmethod(portal_selectors.contacts_by_id)
    serializer_class = ContactSerializer
    update_serializer_class = ContactUpdateSerializer
    filterset_fields = ["client", "email", "invoice_emails", "product_emails", "general_emails"]
    http_method_names = [*ServiceWriteViewSet.http_method_names, "delete"]

    def create_object(self, *, client, actor, data):
        return contact_create(client=client, actor=actor, **data)

    def update_object(self, obj, *, actor, changes):
        return contact_update(contact=obj, actor=actor, changes=changes)

    def destroy(self, request, pk=None):
        contact_delete(contact=self.get_object(), actor=actor(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class BillableItemSerializer(serializers.ModelSerializer):
    client = serializers.PrimaryKeyRelatedField(queryset=portal_selectors.clients())

    class Meta:
        model = BillableItem
        fields = ["id", "client", *EDITABLE_FIELDS, "invoice_count", "awaiting_invoice", "invoice", "created_at"]
        read_only_fields = ["invoice_count", "awaiting_invoice", "invoice", "created_at"]
        extra_kwargs = {"amount": {"min_value": 0, "max_value": 10**9}}


class BillableItemUpdateSerializer(BillableItemSerializer):
    client = serializers.PrimaryKeyRelatedField(read_only=True)


@extend_schema_view(partial_update=extend_schema(request=BillableItemUpdateSerializer, responses=BillableItemSerializer))
class BillableItemViewSet(ServiceWriteViewSet):
    resource = "invoices"
    selector = staticmethod(billing_selectors.billable_items_by_id)
    serializer_class = BillableItemSerializer
    update_serializer_class = BillableItemUpdateSerializer
    filterset_fields = ["client", "awaiting_invoice", "invoice_action", "invoice"]

    def create_object(self, *, client, actor, data):
        return billable_item_create(client=client, actor=actor, **data)

    def update_object(self, obj, *, actor, changes):
        try:
            return billable_item_update(item=obj, actor=actor, changes=changes)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
