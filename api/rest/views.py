"""REST viewsets. Reads come from the owning app's selectors, with their relations joined or prefetched (a fixed
number of queries per page); writes call the portal's services with the key as the actor (Actor.api)."""
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from api.rest import serializers as s
from billing import selectors as billing_selectors
from billing.models import Invoice, Order, Service
from billing.services.cancellation import cancellation_request
from billing.services.changes import change_apply, change_quote
from billing.services.invoices import Line, invoice_cancel, invoice_create
from billing.services.ledger import credit_adjust
from billing.services.orders import order_create
from billing.services.payments import invoice_pay_from_credit, payment_record
from portal import selectors as portal_selectors
from portal.services import client_create, client_update_profile
from provisioning import lifecycle


class SelectorRows:
    """A viewset whose rows are a selector's (a read of the app that owns the model), called afresh for each
    request by get_queryset. `queryset` is set to the selector's result, unevaluated, for what reads it without a
    request: the router (the basename) and the OpenAPI schema."""

    selector = None  # staticmethod(<app>.selectors.<read>)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.selector is not None:
            cls.queryset = cls.selector()

    def get_queryset(self):
        return self.selector()


def actor(request):
    return request.auth.actor


def body(serializer_class, request):
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class ClientViewSet(SelectorRows, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                    mixins.UpdateModelMixin, viewsets.GenericViewSet):
    resource = "clients"
    action_scopes = {"credit": None}
    selector = staticmethod(portal_selectors.clients_by_id)
    serializer_class = s.ClientSerializer
    filterset_fields = ["status", "email", "country", "currency"]
    ordering_fields = ["id", "last_name", "created_at"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_serializer_class(self):
        return {"create": s.ClientCreateSerializer, "partial_update": s.ClientUpdateSerializer}.get(
            self.action, s.ClientSerializer
        )

    @extend_schema(request=s.ClientCreateSerializer, responses={201: s.ClientSerializer})
    def create(self, request):
        data = dict(body(s.ClientCreateSerializer, request))
        password = data.pop("password", None) or None
        client = client_create(actor=actor(request), password=password, **data)
        return Response(s.ClientSerializer(client).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.ClientUpdateSerializer, responses=s.ClientSerializer)
    def partial_update(self, request, pk=None):
        client = self.get_object()
        serializer = s.ClientUpdateSerializer(client, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        client = client_update_profile(client=client, actor=actor(request), changes=dict(serializer.validated_data))
        return Response(s.ClientSerializer(client).data)

    def get_permissions(self):
        if self.action == "credit":
            self.action_scopes = {"credit": "credit.read" if self.request.method == "GET" else "credit.write"}
        return super().get_permissions()

    @extend_schema(methods=["GET"], request=None, responses=s.CreditSerializer)
    @extend_schema(methods=["POST"], request=s.CreditAdjustSerializer, responses={201: s.CreditSerializer})
    @action(detail=True, methods=["get", "post"], filterset_fields=[], pagination_class=None)
    def credit(self, request, pk=None):
        """The client's credit balance and its latest 100 ledger entries; POST adjusts the credit (with a reason)."""
        client = self.get_object()
        code = status.HTTP_200_OK
        if request.method == "POST":
            data = body(s.CreditAdjustSerializer, request)
            credit_adjust(client=client, amount=data["amount"], reason=data["reason"], actor=actor(request))
            client.refresh_from_db()
            code = status.HTTP_201_CREATED
        entries = billing_selectors.ledger_newest_first(client, limit=100)
        data = {"client": client.pk, "balance": client.credit_balance, "currency": client.currency, "entries": entries}
        return Response(s.CreditSerializer(data).data, status=code)


class ProductViewSet(SelectorRows, viewsets.ReadOnlyModelViewSet):
    resource = "products"
    selector = staticmethod(billing_selectors.products_with_prices)
    serializer_class = s.ProductSerializer
    filterset_fields = ["type", "module", "hidden", "retired", "group"]


class ServiceViewSet(SelectorRows, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    resource = "services"
    action_scopes = {"create": "orders.write", "terminate": "services.terminate", "cancel": "orders.write",
                     "change_package": "services.change_package"}
    selector = staticmethod(billing_selectors.services_by_id)
    serializer_class = s.ServiceSerializer
    filterset_fields = ["client", "product", "status", "domain", "billing_cycle"]
    ordering_fields = ["id", "next_due_date", "domain"]

    def _done(self, service):
        service.refresh_from_db()
        return Response(s.ServiceSerializer(service).data)

    @extend_schema(request=s.OrderSerializer, responses={201: s.OrderResultSerializer},
                   summary="Order a product: a Pending service and its first invoice")
    def create(self, request):
        data = body(s.OrderSerializer, request)
        result = order_create(client=data["client"], product=data["product"], domain=data["domain"],
                              cycle=data["billing_cycle"], option_values=data["options"], actor=actor(request), staff=True,
                              source=Order.Source.API)
        return Response(s.OrderResultSerializer(result).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=s.ServiceSerializer, summary="Provision (Pending → Active): ModuleCreate")
    @action(detail=True, methods=["post"])
    def provision(self, request, pk=None):
        return self._done(lifecycle.service_create(service=self.get_object(), actor=actor(request)))

    @extend_schema(request=s.SuspendSerializer, responses=s.ServiceSerializer)
    @action(detail=True, methods=["post"])
    def suspend(self, request, pk=None):
        data = body(s.SuspendSerializer, request)
        return self._done(lifecycle.service_suspend(service=self.get_object(), actor=actor(request),
                                                    reason=Service.SuspendReason.MANUAL, reason_text=data["reason_text"]))

    @extend_schema(request=None, responses=s.ServiceSerializer)
    @action(detail=True, methods=["post"])
    def unsuspend(self, request, pk=None):
        return self._done(lifecycle.service_unsuspend(service=self.get_object(), actor=actor(request)))

    @extend_schema(request=None, responses=s.ServiceSerializer)
    @action(detail=True, methods=["post"])
    def terminate(self, request, pk=None):
        return self._done(lifecycle.service_terminate(service=self.get_object(), actor=actor(request)))

    @extend_schema(request=None, responses=s.ServiceSerializer,
                   summary="Apply the service's product and options on the provider: ModuleChangePackage")
    @action(detail=True, methods=["post"], url_path="change-package")
    def change_package(self, request, pk=None):
        return self._done(lifecycle.service_change_package(service=self.get_object(), actor=actor(request)))

    @extend_schema(request=s.PasswordSerializer, responses=s.ServiceSerializer)
    @action(detail=True, methods=["post"], url_path="change-password")
    def change_password(self, request, pk=None):
        data = body(s.PasswordSerializer, request)
        return self._done(lifecycle.service_change_password(service=self.get_object(), actor=actor(request),
                                                            new_password=data["password"]))

    @extend_schema(request=s.CancelSerializer, responses=s.ServiceSerializer, summary="Request cancellation")
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        data = body(s.CancelSerializer, request)
        service = self.get_object()
        if service.status not in (Service.Status.PENDING, Service.Status.ACTIVE, Service.Status.SUSPENDED):
            raise lifecycle.InvalidTransition(f"Cannot cancel {service.domain}: the service is {service.get_status_display()}.")
        return self._done(cancellation_request(service=service, cancellation_type=data["type"], reason=data["reason"],
                                               actor=actor(request)))

    @extend_schema(request=s.ChangeSerializer, responses=s.ChangeQuoteSerializer,
                   summary="Upgrade/downgrade with proration (confirm=false only quotes)")
    @action(detail=True, methods=["post"])
    def change(self, request, pk=None):
        data = body(s.ChangeSerializer, request)
        service = self.get_object()
        if service.status != Service.Status.ACTIVE:
            raise lifecycle.InvalidTransition(f"Only an active service can be changed ({service.domain} is {service.get_status_display()}).")
        kwargs = {"service": service, "product": data.get("product"), "option_values": data.get("options")}
        if not data["confirm"]:
            quote, invoice, change = change_quote(**kwargs), None, None
        else:
            result = change_apply(actor=actor(request), expected_amount=data.get("expected_amount"), **kwargs)
            quote, invoice, change = result.quote, result.invoice, result.change
        payload = s.ChangeQuoteSerializer(quote).data
        payload["invoice"] = invoice.pk if invoice else None
        payload["change_status"] = change.status if change else None
        return Response(payload)


class InvoiceViewSet(SelectorRows, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    resource = "invoices"
    action_scopes = {"apply_credit": "credit.write"}
    selector = staticmethod(billing_selectors.invoices_with_items)
    serializer_class = s.InvoiceSerializer
    filterset_fields = ["client", "status", "kind", "currency", "due_date"]
    ordering_fields = ["id", "date", "due_date", "total"]

    @extend_schema(request=s.InvoiceCreateSerializer, responses={201: s.InvoiceSerializer})
    def create(self, request):
        data = body(s.InvoiceCreateSerializer, request)
        lines = [Line("item", line["description"], line["amount"], taxable=line["taxable"]) for line in data["lines"]]
        invoice = invoice_create(client=data["client"], lines=lines, actor=actor(request), due_date=data.get("due_date"),
                                 notes=data["notes"])
        return Response(s.InvoiceSerializer(self.get_queryset().get(pk=invoice.pk)).data, status=status.HTTP_201_CREATED)

    def _state(self, invoice, allowed, verb):
        if invoice.status not in allowed:
            raise lifecycle.InvalidTransition(f"Cannot {verb} invoice {invoice}: it is {invoice.get_status_display()}.")

    @extend_schema(request=None, responses=s.InvoiceSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        invoice = self.get_object()
        self._state(invoice, (Invoice.Status.UNPAID, Invoice.Status.DRAFT), "cancel")
        invoice_cancel(invoice=invoice, actor=actor(request), reason="cancelled via the API")
        return Response(s.InvoiceSerializer(self.get_queryset().get(pk=invoice.pk)).data)

    @extend_schema(request=s.ApplyCreditSerializer, responses=s.InvoiceSerializer)
    @action(detail=True, methods=["post"], url_path="apply-credit")
    def apply_credit(self, request, pk=None):
        data = body(s.ApplyCreditSerializer, request)
        invoice = self.get_object()
        self._state(invoice, (Invoice.Status.UNPAID,), "apply credit to")
        invoice_pay_from_credit(invoice=invoice, actor=actor(request), amount=data.get("amount"))
        return Response(s.InvoiceSerializer(self.get_queryset().get(pk=invoice.pk)).data)


class PaymentViewSet(SelectorRows, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    resource = "payments"
    selector = staticmethod(billing_selectors.payments_newest_first)
    serializer_class = s.PaymentSerializer
    filterset_fields = ["client", "invoice", "gateway", "transaction_id"]

    def create(self, request):
        data = body(s.PaymentSerializer, request)
        result = payment_record(
            invoice=data["invoice"], amount=data["amount"], transaction_id=data["transaction_id"],
            gateway=data.get("gateway", "manual"), actor=actor(request), fees=data.get("fees") or 0,
            received_at=data.get("received_at"), note=data.get("note", ""),
        )
        code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        return Response(s.PaymentSerializer(result.payment).data, status=code)


class ActivityLogViewSet(SelectorRows, viewsets.ReadOnlyModelViewSet):
    resource = "activity"
    selector = staticmethod(portal_selectors.activity_newest_first)
    serializer_class = s.ActivityLogSerializer
    filterset_fields = ["client", "action", "actor_type", "actor_label"]
