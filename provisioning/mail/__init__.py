"""The mail client area (seed 003): a customer manages their e-mail hosting service — mailboxes, aliases,
forwarding, distribution lists, DKIM, webmail branding, domain aliases — through the product's module's
mailbox capability (provisioning.modules.mailboxes). The provider is the source of truth; the portal keeps
MailboxRecord rows, what billing needs (each mailbox's type, the counts), and reconciles them with the provider.

    selectors.py  reads, scoped to the signed-in client (mail_context, records, the plan's allowance)
    services.py   writes: call the module, then record and audit; nothing is recorded when the provider refuses
    plan.py       the plan's mailbox allowance (configurable options), password rules, the DNS guide
    errors.py     provider errors in a customer's words
    forms.py      crispy forms
    views.py      the pages (provisioning/urls_clientarea.py)
"""
