"""The payments app's models, by topic; import them from here."""
from payments.models.bank import BankStatement, StatementLine  # noqa: F401
