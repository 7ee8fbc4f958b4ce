"""Provider errors in a customer's words. Modules raise MailboxError with a Reason for the refusals they
recognise; other ModuleErrors are read by their words (Modoboa's and SmarterMail's say "already exists",
"password", "quota"…). Staff keep the provider's exact words on the ModuleCall, whose number the customer is
given when the cause is ours to look into."""
from dataclasses import dataclass

from provisioning.modules.mailboxes import Reason, reason_from_words

# Reason -> (the form field it belongs next to, what the customer reads). {what} is the thing being changed.
TEXTS = {
    Reason.TAKEN: (
        "address",
        "That address is already in use on your domain (by a mailbox, alias or list). Choose another name.",
    ),
    Reason.INVALID_NAME: (
        "address",
        "That name is not allowed. Use letters, digits, dots, hyphens, underscores or "
        "plus signs, starting and ending with a letter or digit.",
    ),
    Reason.PASSWORD: (
        "password",
        "The mail server did not accept this password: it is too short or too simple "
        "for its rules. Choose a longer one mixing upper- and lower-case letters and digits.",
    ),
    Reason.QUOTA: (
        "quota_mb",
        "The mail server cannot give that much space (the plan's or the account's limit). Choose a smaller quota.",
    ),
    Reason.NOT_FOUND: (
        None,
        "The mail server no longer has {what}; it may have been removed elsewhere. The page shows what there is now.",
    ),
    Reason.LIMIT: (
        None,
        "The mail server's limit for your plan is reached. Upgrade your plan under "
        "Upgrade/Downgrade, or remove something you no longer need.",
    ),
    Reason.VERIFICATION: (
        None,
        "Your domain must first be verified: publish the verification record shown on the "
        "DNS guide, wait for DNS to update, then try again.",
    ),
    Reason.UNSUPPORTED: (None, "Your mail service does not offer this."),
}
TEMPORARY = ("The mail server did not answer in time, so nothing was changed. Please try again in a few minutes.")


@dataclass(frozen=True)
class CustomerError:
    field: str | None
    message: str


def customer_error(error, *, what="it", call=None, texts=None):
    """What to tell the customer about a ModuleError (and next to which form field). `texts` overrides TEXTS for
    one page (Reason -> (field, text)), e.g. "taken" means a domain, not an address, on the domain alias page."""
    if not error.permanent:
        return CustomerError(None, TEMPORARY)
    reason = getattr(error, "reason", "") or reason_from_words(error.message)
    if reason == Reason.INVALID and getattr(error, "vendor_message", ""):
        return CustomerError(None, f"The mail server did not accept this: {error.vendor_message}.")
    texts = {**TEXTS, **(texts or {})}
    if reason in texts:
        field, text = texts[reason]
        return CustomerError(field, text.format(what=what))
    reference = f" (reference #{call.pk})" if call is not None and call.pk else ""
    return CustomerError(None, "The mail server refused the change, so nothing was changed. If it happens again, "
                               f"please contact support{reference}.")


def add_to_form(form, error, field_map=None):
    """Put a CustomerError next to its field when the form has it (field names may be mapped), else on top."""
    name = (field_map or {}).get(error.field, error.field)
    form.add_error(name if name in form.fields else None, error.message)
