"""The payments app's models, by topic; import them from here."""
from payments.models.gateways import ChargeAttempt, GatewayEvent, GatewaySettings, PaymentMethod

__all__ = ["ChargeAttempt", "GatewayEvent", "GatewaySettings", "PaymentMethod"]
