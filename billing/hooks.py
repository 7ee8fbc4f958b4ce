"""What billing asks of the floors above it (portal.hooks explains the mechanism). Each hook says who answers it.

Provider calls fail in two ways billing must tell apart, so their exceptions are declared here too; the
floor above raises its own subclasses (provisioning's InvalidTransition and ModuleError).
"""
from portal.hooks import Hook


class ActionRefused(Exception):
    """The service's status does not allow the action (provisioning.lifecycle.InvalidTransition)."""


class ProviderError(Exception):
    """A provider refused or failed (provisioning.modules.base.ModuleError). `permanent` errors need a person;
    temporary ones are retried. The failed call is recorded and queued for retry by whoever raised it."""

    def __init__(self, message, *, permanent=False):
        super().__init__(message)
        self.message = message
        self.permanent = permanent


# The service lifecycle on the provider: answered by provisioning (provisioning/apps.py) with
# provisioning.lifecycle's functions of the same names; each audits and records its provider call.
service_create = Hook("billing.service_create", "create a service on its provider")
service_suspend = Hook("billing.service_suspend", "suspend a service on its provider")
service_unsuspend = Hook("billing.service_unsuspend", "unsuspend a service on its provider")
service_terminate = Hook("billing.service_terminate", "terminate a service on its provider")
service_cancel = Hook("billing.service_cancel", "cancel a service (terminate it on its provider)")
service_change_package = Hook("billing.service_change_package", "apply a service's plan to its provider")
# The same for a batch of services whose rows the caller has locked (the automation pass): provider calls at once,
# their records written in bulk. Answered by provisioning.lifecycle_batch; each returns {service id: outcome}
# where outcome has .service, .done, .error (a ProviderError) and .refused (the status does not allow it).
services_suspend_batch = Hook("billing.services_suspend_batch", "suspend a batch of services on their providers")
services_terminate_batch = Hook("billing.services_terminate_batch", "terminate a batch of services on their providers")
# An Exists() over the provider calls of one action waiting for staff after a permanent error (provisioning).
# What the welcome e-mail of a newly created service tells the client (login URLs, DNS records to publish), as
# merge fields {name: text}: answered by provisioning (provisioning.welcome), which knows each module's options.
welcome_details = Hook("billing.welcome_details", "the welcome e-mail's login URLs and DNS records of a service")
waiting_for_staff = Hook("billing.waiting_for_staff", "services whose provider call waits for staff")

# Work handed to Celery once the transaction commits: answered by billing/apps.py with billing.tasks' queueing,
# because the tasks module sits above the services that ask for it.
send_emails_later = Hook("billing.send_emails_later", "queue the sending of e-mail log rows")
follow_up_paid_invoices_later = Hook("billing.follow_up_paid_invoices_later",
                                     "queue accepting orders and unsuspending services after a payment")

# Plan changes (billing.services.changes, which issues their invoices) wait on those invoices: paying one applies
# its change, cancelling one cancels it. Answered by billing/apps.py with the changes module's functions.
apply_paid_changes = Hook("billing.apply_paid_changes", "apply the plan changes whose invoices are now paid")
cancel_pending_changes = Hook("billing.cancel_pending_changes", "cancel the plan changes of cancelled invoices")
