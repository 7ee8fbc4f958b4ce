"""The payments app's models, by topic; import them from here."""
from payments.models.bank import BankStatement, StatementLine
from payments.models.gateways import ChargeAttempt, GatewayEvent, GatewaySettings, PaymentMethod

__all__ = ["BankStatement", "ChargeAttempt", "GatewayEvent", "GatewaySettings", "PaymentMethod", "StatementLine"]
