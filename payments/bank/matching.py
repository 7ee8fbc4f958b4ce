"""Matching a statement's credit lines to invoices and recording the payments (docs/payments.md "Bank transfer").

1. Lines whose bank entry reference is already known (an earlier upload, or twice in this file) are duplicates:
   listed on the statement, nothing recorded.
2. The rest are matched set-based — one query for the invoices their RF references name, one for the unpaid
   invoices their amounts could pay — never a query per line:
   - by RF reference (the structured reference, else one written in the free text) → that invoice, whatever its
     status (billing puts money on a paid or cancelled invoice to credit); not a draft, not another currency;
   - else by exact amount (the invoice's balance) and payer name (the client's company or person name) among
     unpaid invoices in the line's currency: only a unique match counts, and an invoice is matched this way once
     per statement.
3. The statement and its lines are stored; matched lines are then recorded with billing's `payment_record`
   (gateway `bank_transfer`, transaction id = the bank entry reference), so recording twice pays once. Lines left
   unmatched carry their reason and wait for staff: assign an invoice, add to a client's credit, or ignore.
"""
import gc
import re
import threading
import unicodedata
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, time

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from billing.models import Invoice, Payment
from billing.payment_reference import invoice_id_of, invoice_ids_in, is_valid_reference, references_in
from billing.services.payment_batch import PaymentRequest, payments_record_batch
from billing.services.payments import payment_record
from billing.services.transactions import payment_to_credit
from payments.bank.camt053 import parse_camt053
from payments.bank.csv_statement import parse_csv
from payments.models.bank import BANK_TRANSFER, BankStatement, StatementLine
from portal.activity import build_entry, log_activities, log_activity

CHUNK = 900  # ids per IN (…) query: under every database's parameter limit
RECORD_BATCH = 500  # payments recorded per transaction
State = StatementLine.State


@dataclass
class Decision:
    line: object  # a ParsedLine
    invoice: Invoice | None = None
    matched_by: str = ""
    reason: str = ""


def normalise_name(name):
    """A name compared without case, accents, punctuation or extra spaces: "ACME, Corp." == "Acme Corp"."""
    text = unicodedata.normalize("NFKD", name or "")
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


def client_names(client):
    names = {normalise_name(client.company_name), normalise_name(f"{client.first_name} {client.last_name}"),
             normalise_name(f"{client.last_name} {client.first_name}")}
    names.discard("")
    return names


def line_references(line):
    """The RF references a line carries: the structured one first, then any written in its free text."""
    refs = [line.reference.replace(" ", "").upper()] if is_valid_reference(line.reference) else []
    return refs + [r for r in references_in(line.reference_text) if r not in refs]


def line_invoice_ids(line):
    """The invoice ids a line's references name: the structured reference first, then the free text's."""
    ids = [i for i in [invoice_id_of(line.reference)] if i is not None]
    return ids + [i for i in invoice_ids_in(line.reference_text) if i not in ids]


def _chunks(values, size=CHUNK):
    values = list(values)
    for i in range(0, len(values), size):
        yield values[i:i + size]


def match_lines(lines):
    """A Decision per line: the invoice it pays and how it was matched, or why it was not. Two queries whatever the
    number of lines (one more per CHUNK distinct references past the first)."""
    decisions = [Decision(line) for line in lines]
    wanted = {}
    for decision in decisions:
        wanted[id(decision)] = line_invoice_ids(decision.line)
    all_ids = {i for ids in wanted.values() for i in ids}
    by_id = {}
    for chunk in _chunks(all_ids):
        by_id.update((inv.pk, inv) for inv in Invoice.objects.filter(pk__in=chunk).select_related("client"))
    claimed = set()
    for decision in decisions:
        line, ids = decision.line, wanted[id(decision)]
        invoice = next((by_id[i] for i in ids if i in by_id), None)
        if invoice is None:
            if ids:
                decision.reason = "its payment reference names no invoice"
            continue
        if invoice.status == Invoice.Status.DRAFT:
            decision.reason = f"its reference names invoice {invoice}, which is a draft"
        elif invoice.currency != line.currency:
            decision.reason = f"the payment is in {line.currency} but invoice {invoice} is in {invoice.currency}"
        else:
            decision.invoice, decision.matched_by = invoice, StatementLine.MatchedBy.REFERENCE
            claimed.add(invoice.pk)
    _match_by_amount_and_name([d for d in decisions if d.invoice is None and not d.reason.startswith("the payment is in")],
                              claimed)
    for decision in decisions:
        if decision.invoice is None and not decision.reason:
            decision.reason = "no payment reference, and no unpaid invoice of this amount for this payer"
    return decisions


def _match_by_amount_and_name(decisions, claimed):
    pending = [d for d in decisions if normalise_name(d.line.payer_name)]
    for d in decisions:
        if not normalise_name(d.line.payer_name):
            d.reason = (d.reason + "; " if d.reason else "") + "no payer name to match by amount"
    if not pending:
        return
    amounts = {d.line.amount for d in pending}
    currencies = {d.line.currency for d in pending}
    candidates = {}
    # Unpaid invoices whose balance may equal a line's amount: the total is one, or part is already paid. Past
    # CHUNK distinct amounts the list is left out (every unpaid invoice in those currencies: still one query).
    query = Invoice.objects.filter(status=Invoice.Status.UNPAID, currency__in=currencies)
    if len(amounts) <= CHUNK:
        query = query.filter(Q(total__in=amounts) | Q(amount_paid__gt=0) | Q(credit_applied__gt=0))
    query = query.select_related("client").order_by("pk")
    for invoice in query:
        if invoice.balance <= 0 or invoice.pk in claimed:
            continue
        for name in client_names(invoice.client):
            candidates.setdefault((invoice.currency, invoice.balance, name), []).append(invoice)
    for d in pending:
        found = [i for i in candidates.get((d.line.currency, d.line.amount, normalise_name(d.line.payer_name)), [])
                 if i.pk not in claimed]
        if len(found) == 1:
            d.invoice, d.matched_by, d.reason = found[0], StatementLine.MatchedBy.AMOUNT_NAME, ""
            claimed.add(found[0].pk)
        elif len(found) > 1:
            numbers = ", ".join(str(i) for i in found[:5])
            d.reason = (d.reason + "; " if d.reason else "") + (
                f"{len(found)} unpaid invoices of {d.line.amount} {d.line.currency} for this payer ({numbers}): "
                "choose one")


def known_references(references):
    known = set()
    for chunk in _chunks(set(references)):
        known.update(StatementLine.objects.filter(entry_reference__in=chunk).values_list("entry_reference", flat=True))
    return known


def _received_at(line):
    if line.booking_date is None:
        return None
    return timezone.make_aware(datetime.combine(line.booking_date, time(12)))


def import_statement(*, parsed, format, actor, filename="", mapping=None):
    """Store a parsed statement, match its new lines and record the matched payments. Returns the BankStatement."""
    known = known_references(line.entry_reference for line in parsed.lines)
    new, duplicates, seen = [], [], set()
    for line in parsed.lines:
        if line.entry_reference in known or line.entry_reference in seen:
            duplicates.append({"position": line.position, "entry_reference": line.entry_reference,
                               "amount": str(line.amount), "currency": line.currency, "payer_name": line.payer_name})
        else:
            seen.add(line.entry_reference)
            new.append(line)
    decisions = match_lines(new)
    user = getattr(actor, "user", None)
    try:
        with transaction.atomic():
            statement = BankStatement.objects.create(
                format=format, filename=filename[:255], statement_id=parsed.statement_id[:140],
                account=parsed.account[:60], uploaded_by=user if getattr(user, "pk", None) else None,
                line_count=len(new), duplicate_count=len(duplicates), skipped_count=parsed.skipped,
                errors=parsed.errors, duplicates=duplicates, mapping=mapping or {},
            )
            StatementLine.objects.bulk_create([
                StatementLine(
                    statement=statement, position=d.line.position, entry_reference=d.line.entry_reference,
                    booking_date=d.line.booking_date, amount=d.line.amount, currency=d.line.currency,
                    reference=(line_references(d.line) or [""])[0], reference_text=d.line.reference_text,
                    payer_name=d.line.payer_name, invoice=d.invoice, matched_by=d.matched_by,
                    state=State.MATCHED if d.invoice else State.UNMATCHED, reason=d.reason[:255],
                )
                for d in decisions
            ], batch_size=500)
            log_activity(
                actor=actor, action="bank.statement_import", target=statement,
                message=f"Bank statement {statement} uploaded: {len(new)} new credit lines, "
                        f"{sum(1 for d in decisions if d.invoice)} matched, {len(duplicates)} already imported, "
                        f"{len(parsed.errors)} unreadable",
                data={"format": format, "filename": filename, "lines": len(new), "duplicates": len(duplicates),
                      "errors": len(parsed.errors), "skipped": parsed.skipped},
            )
    except IntegrityError:
        raise ValidationError("The same bank entries were being imported at the same moment (another upload of this "
                              "statement?): nothing was imported from this one. Upload it again to see what is new.") from None
    record_matched_lines(statement=statement, actor=actor)
    return statement


def record_matched_lines(*, statement, actor):
    """Record the payment of each matched line not yet recorded (safe to run again: billing records each bank entry
    once). A line billing refuses (e.g. its entry reference already used for another amount) becomes unmatched
    with billing's reason."""
    while True:
        batch = list(StatementLine.objects.filter(statement=statement, state=State.MATCHED)
                     .only("pk", "position", "entry_reference", "booking_date", "amount", "currency", "state",
                           "reason", "matched_by", "invoice_id").order_by("pk")[:RECORD_BATCH])
        if not batch:
            break
        with transaction.atomic():
            results = payments_record_batch(requests=[
                PaymentRequest(invoice_id=line.invoice_id, amount=line.amount, transaction_id=line.entry_reference,
                               received_at=_received_at(line), note=f"Bank statement {statement.pk}, line {line.position}")
                for line in batch
            ], gateway=BANK_TRANSFER, actor=actor)
            entries = []
            for line, result in zip(batch, results):
                if isinstance(result, str):  # billing refused it
                    line.state, line.reason = State.UNMATCHED, result[:255]
                    entries.append(build_entry(
                        actor=actor, action="bank.line_unmatched", target=statement,
                        message=f"Bank line {line.entry_reference} not recorded on invoice {line.invoice}: {line.reason}",
                        client=line.invoice.client, data={"line": line.pk},
                    ))
                    line.invoice, line.matched_by = None, ""
                    continue
                # Audited by billing's payment.record entry, which names the bank reference (its transaction id).
                line.state, line.payment = State.PAID, result.payment
            refused = [line for line in batch if line.state == State.UNMATCHED]
            if refused:
                StatementLine.objects.bulk_update(refused, ["state", "reason", "invoice", "matched_by"])
            # The recorded ones in one UPDATE: each line's payment is the one with its entry reference.
            StatementLine.objects.filter(pk__in=[line.pk for line in batch if line.state == State.PAID]).update(
                state=State.PAID, payment=Subquery(Payment.objects.filter(
                    gateway=BANK_TRANSFER, transaction_id=OuterRef("entry_reference")).values("pk")[:1]),
            )
            log_activities(entries)
    refresh_counts(statement)


def refresh_counts(statement):
    counts = {state: 0 for state in State.values}
    for state in StatementLine.objects.filter(statement=statement).values_list("state", flat=True):
        counts[state] += 1
    statement.paid_count = counts[State.PAID] + counts[State.ASSIGNED] + counts[State.CREDITED]
    statement.unmatched_count = counts[State.UNMATCHED] + counts[State.MATCHED]
    statement.save(update_fields=["paid_count", "unmatched_count"])


def _message(exc):
    if hasattr(exc, "message_dict"):
        return " ".join(m for messages in exc.message_dict.values() for m in messages)
    return " ".join(exc.messages)


def _lock_unmatched(line):
    line = StatementLine.objects.select_for_update().select_related("statement").get(pk=line.pk)
    if line.state != State.UNMATCHED:
        raise ValidationError(f"This line is {line.get_state_display().lower()}: only an unmatched line can be resolved.")
    return line


@transaction.atomic
def line_assign(*, line, invoice, actor):
    """Staff: this unmatched line pays this invoice (recorded through billing, audited)."""
    line = _lock_unmatched(line)
    if invoice.currency != line.currency:
        raise ValidationError({"invoice": f"The payment is in {line.currency} but invoice {invoice} is in {invoice.currency}."})
    result = payment_record(
        invoice=invoice, amount=line.amount, transaction_id=line.entry_reference, gateway=BANK_TRANSFER, actor=actor,
        received_at=_received_at(line), note=f"Bank statement {line.statement_id}, line {line.position} (assigned by staff)",
    )
    return _resolve(line, actor, State.ASSIGNED, invoice=invoice, payment=result.payment,
                    message=f"Bank line {line.entry_reference} ({line.amount} {line.currency}) assigned to invoice {invoice}")


@transaction.atomic
def line_to_credit(*, line, client, actor):
    """Staff: this unmatched line is money from this client without an invoice: it goes to the client's credit."""
    line = _lock_unmatched(line)
    if client.currency != line.currency:
        raise ValidationError({"client": f"The payment is in {line.currency} but {client}'s currency is {client.currency}."})
    payment = payment_to_credit(
        client=client, amount=line.amount, transaction_id=line.entry_reference, gateway=BANK_TRANSFER, actor=actor,
        received_at=_received_at(line), note=f"Bank statement {line.statement_id}, line {line.position}",
    )
    return _resolve(line, actor, State.CREDITED, payment=payment, target=client,
                    message=f"Bank line {line.entry_reference} ({line.amount} {line.currency}) added to {client}'s credit")


@transaction.atomic
def line_ignore(*, line, reason, actor):
    """Staff: this unmatched line is not a client's payment (a refund from a supplier, interest…): nothing recorded."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the line is not a client payment."})
    line = _lock_unmatched(line)
    return _resolve(line, actor, State.IGNORED, reason=reason, message=f"Bank line {line.entry_reference} ignored: {reason}")


def _resolve(line, actor, state, *, message, invoice=None, payment=None, target=None, reason=""):
    old, old_reason = line.state, line.reason
    line.reason = reason[:255]
    line.state, line.matched_by = state, (StatementLine.MatchedBy.STAFF if state != State.IGNORED else "")
    line.invoice, line.payment = invoice, payment
    line.resolved_by, line.resolved_at = getattr(actor, "user", None), timezone.now()
    line.save(update_fields=["state", "matched_by", "invoice", "payment", "resolved_by", "resolved_at", "reason"])
    log_activity(actor=actor, action=f"bank.line_{state}", target=target or invoice or line.statement, message=message,
                 data={"line": line.pk, "statement": line.statement_id, "from": old, "to": state,
                       "unmatched_because": old_reason})
    refresh_counts(line.statement)
    return line


def import_file(*, data, format, actor, filename="", mapping=None):
    """Read a statement file (camt.053, or CSV with `mapping`) and import it. StatementError if the file as a whole
    cannot be read; its bad lines are listed on the statement."""
    with fewer_gc_passes():
        if format == BankStatement.Format.CSV:
            parsed = parse_csv(data, mapping)
        else:
            parsed = parse_camt053(data)
        return import_statement(parsed=parsed, format=format, actor=actor, filename=filename,
                                mapping=asdict(mapping) if mapping is not None else None)


_gc_lock = threading.Lock()
_gc_depth = 0
_gc_saved = None


@contextmanager
def fewer_gc_passes(first_generation=1_000_000):
    """Python's cycle collector less often while a statement is imported: the import makes a few hundred thousand
    short-lived objects (lines, ORM rows), and the default threshold (a pass every 2,000 allocations, a full one
    walking every live object every 100 passes) cost about 4 of 11 s for 10,000 lines (docs/benchmarks.md).
    Reference counting still frees everything at once; only cycles wait for the pass after. Process-wide, so
    nested or concurrent imports share one setting and the last one out restores it."""
    global _gc_depth, _gc_saved
    with _gc_lock:
        if _gc_depth == 0:
            _gc_saved = gc.get_threshold()
            gc.set_threshold(max(_gc_saved[0], first_generation), *_gc_saved[1:])
        _gc_depth += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_depth -= 1
            if _gc_depth == 0:
                gc.set_threshold(*_gc_saved)
