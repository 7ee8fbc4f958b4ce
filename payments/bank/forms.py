"""Staff forms of bank transfer: upload a statement (camt.053, or CSV with its column mapping) and resolve an
unmatched line (assign it to an invoice, put it to a client's credit, or ignore it)."""
from django import forms

from billing.models import Invoice
from billing.payment_reference import invoice_id_of, references_in
from payments.bank.csv_statement import DATE_FORMATS, CsvMapping
from payments.models.bank import BankStatement
from portal.models import Client

MAX_UPLOAD_BYTES = 50 * 1024 * 1024


class StatementUploadForm(forms.Form):
    file = forms.FileField(help_text="A camt.053 XML file, or a CSV export of the account.")
    format = forms.ChoiceField(choices=BankStatement.Format.choices, initial=BankStatement.Format.CAMT053)
    entry_reference_column = forms.CharField(
        required=False, label="CSV: bank reference column",
        help_text="The column holding the bank's unique id of each booking (the transaction id): it keeps an upload "
                  "of the same file from recording anything twice.",
    )
    amount_column = forms.CharField(required=False, label="CSV: amount column")
    date_column = forms.CharField(required=False, label="CSV: booking date column")
    currency_column = forms.CharField(required=False, label="CSV: currency column")
    default_currency = forms.CharField(required=False, max_length=3, label="CSV: currency (no currency column)")
    reference_column = forms.CharField(required=False, label="CSV: reference text column",
                                       help_text="What the payer wrote: the RF reference is read out of it.")
    payer_name_column = forms.CharField(required=False, label="CSV: payer name column")
    decimal = forms.ChoiceField(choices=[(".", "Point: 1234.50"), (",", "Comma: 1234,50")], initial=".",
                                label="CSV: decimal mark")
    date_format = forms.ChoiceField(choices=[(k, v) for k, v in DATE_FORMATS.items()], initial="%Y-%m-%d",
                                    label="CSV: date format")
    delimiter = forms.ChoiceField(choices=[("", "Guess"), (";", "Semicolon ;"), (",", "Comma ,"), ("\t", "Tab"),
                                           ("|", "Bar |")], required=False, label="CSV: delimiter")

    MAPPING_FIELDS = {  # form field: CsvMapping attribute
        "entry_reference_column": "entry_reference", "amount_column": "amount", "date_column": "date",
        "currency_column": "currency", "default_currency": "default_currency", "reference_column": "reference_text",
        "payer_name_column": "payer_name", "decimal": "decimal", "date_format": "date_format", "delimiter": "delimiter",
    }

    @classmethod
    def initial_from_last_csv(cls):
        """The mapping of the last CSV statement, so staff map their bank's export once."""
        last = BankStatement.objects.filter(format=BankStatement.Format.CSV).exclude(mapping={}).first()
        if last is None:
            return {}
        return {field: last.mapping.get(attr, "") for field, attr in cls.MAPPING_FIELDS.items()}

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
        return upload

    def clean(self):
        data = super().clean()
        if data.get("format") == BankStatement.Format.CSV:
            for field in ("entry_reference_column", "amount_column"):
                if not data.get(field, "").strip():
                    self.add_error(field, "Name the column of the CSV file's header.")
            if not data.get("currency_column", "").strip() and not data.get("default_currency", "").strip():
                self.add_error("default_currency", "Name the currency column, or give the statement's currency.")
        return data

    def mapping(self):
        data = self.cleaned_data
        return CsvMapping(
            entry_reference=data["entry_reference_column"].strip(), amount=data["amount_column"].strip(),
            date=data["date_column"].strip(), currency=data["currency_column"].strip(),
            default_currency=data["default_currency"].strip().upper(), reference_text=data["reference_column"].strip(),
            payer_name=data["payer_name_column"].strip(), decimal=data["decimal"], date_format=data["date_format"],
            delimiter=data["delimiter"] or "",
        )


class LineResolveForm(forms.Form):
    ASSIGN, CREDIT, IGNORE = "assign", "credit", "ignore"
    action = forms.ChoiceField(widget=forms.RadioSelect, choices=[
        (ASSIGN, "It pays an invoice"), (CREDIT, "It is a client's money without an invoice: add it to their credit"),
        (IGNORE, "It is not a client payment: ignore it"),
    ])
    invoice = forms.CharField(required=False, help_text="The invoice number, its id or its RF payment reference.")
    client = forms.IntegerField(required=False, label="Client id", min_value=1)
    reason = forms.CharField(required=False, max_length=255, help_text="Why the line is ignored.")

    def clean(self):
        data = super().clean()
        action = data.get("action")
        if action == self.ASSIGN:
            data["invoice"] = self._invoice(data.get("invoice", "").strip())
        elif action == self.CREDIT:
            client = Client.objects.filter(pk=data.get("client")).first() if data.get("client") else None
            if client is None:
                self.add_error("client", "Give the id of the client whose money it is.")
            data["client"] = client
        elif action == self.IGNORE and not data.get("reason", "").strip():
            self.add_error("reason", "Say why the line is not a client payment.")
        return data

    def _invoice(self, text):
        if not text:
            self.add_error("invoice", "Give the invoice number, id or payment reference.")
            return None
        invoice = Invoice.objects.filter(number=text).first()
        if invoice is None and text.isdigit():
            invoice = Invoice.objects.filter(pk=int(text)).first()
        if invoice is None:
            ids = [invoice_id_of(r) for r in references_in(text)]
            invoice = Invoice.objects.filter(pk__in=[i for i in ids if i]).first()
        if invoice is None:
            self.add_error("invoice", f"No invoice has the number, id or reference {text!r}.")
        return invoice
