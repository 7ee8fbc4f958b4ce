from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self):
        # Imported here, not at the top: app modules load models, which Django allows only once apps are ready.
        from billing import hooks, tasks
        from billing.services import changes

        hooks.send_emails_later.answer(tasks.send_emails_later)
        hooks.follow_up_paid_invoices_later.answer(tasks.follow_up_paid_invoices_later)
        hooks.apply_paid_changes.answer(changes.apply_paid_changes)
        hooks.cancel_pending_changes.answer(changes.cancel_pending_changes)
