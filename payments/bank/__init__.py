"""Bank transfer: reading bank statements (camt053.py, csv_statement.py), matching their credit lines to invoices
and recording the payments (matching.py). docs/payments.md "Bank transfer"."""
