"""SmarterMail's product options 1–23 (numbered as in the WHMCS module) and its server settings.
docs/module-options.md documents each one; keep the two in step (tests/provisioning/test_options.py checks)."""
from decimal import Decimal

from provisioning.modules.base import DELETE_DATA_OPTION
from provisioning.options import BoolOption, DecimalOption, IntOption, ListOption, OptionSchema, TextOption

PROTOCOLS = ("imap", "pop", "smtp", "webmail", "activesync", "ews", "mapi", "caldav", "carddav", "xmpp")

PRODUCT_OPTIONS = OptionSchema(
    # Disk billing (read by the billing engine's disk-tranche invoicing).
    DecimalOption("disk_tranche_size_gb", "Disk tranche size (GB)", number=1, default="1.00",
                  min_value=Decimal("0.01"),
                  help="Usage above the included disk (option 16) is billed in tranches of this many GB; a started "
                       "tranche counts."),
    DecimalOption("disk_tranche_price", "Price per disk tranche", number=2, default="", required=False,
                  min_value=Decimal("0"),
                  help="Price of one tranche per billing period, in the service's currency. Blank = no disk billing."),
    IntOption("disk_tranche_max", "Most tranches billed", number=3, default=0, min_value=0,
              help="Cap on the tranches billed per period. 0 = no cap."),
    TextOption("disk_billing_description", "Disk invoice line description", number=4, default="", max_length=200,
               placeholders=("tranches", "usage_gb", "included_gb"),
               help="Text of the invoice line for extra disk; may use {tranches}, {usage_gb} and {included_gb}. "
                    "Blank = the billing engine's standard text."),
    # Used when the domain is created and terminated.
    TextOption("storage_path", "Storage path", number=5, default="/var/lib/smartermail/Domains",
               check="absolute_path", required=True,
               help="Folder for the domain's data. The domain name is appended, or replaces {domain} if present "
                    "(e.g. D:\\Mail\\{domain}\\data)."),
    TextOption("outbound_ip", "Outbound IP address", number=6, default="", check="ip",
               help="IP address the domain sends from. Blank = the server's default."),
    IntOption("max_users", "Maximum users", number=7, default=0, min_value=0,
              help="Most mailboxes the domain may have. 0 = unlimited."),
    BoolOption(DELETE_DATA_OPTION, "Delete data on termination", number=8, default=False,
               help="Yes: Terminate removes the domain and all its mail. No: the domain is removed but its files stay "
                    "on disk for a grace period or your own archival."),
    # The client area: password rules and hints.
    IntOption("password_min_length", "Minimum password length", number=9, default=8, min_value=6, max_value=64,
              help="Shortest password accepted for mailboxes and the domain administrator."),
    BoolOption("password_require_complexity", "Require complex passwords", number=10, default=True,
               help="Yes: passwords need upper- and lower-case letters and a digit."),
    TextOption("password_hint", "Password hint", number=11, default="", max_length=300,
               help="Shown beside password fields. Blank = a hint written from options 9 and 10."),
    # The client area: protocols and connection settings.
    ListOption("protocols", "Protocols offered", number=12, default=("imap", "pop", "smtp", "webmail", "activesync"),
               choices=PROTOCOLS,
               help="Protocols the client area offers and explains (connection guide): "
                    + ", ".join(PROTOCOLS) + ". ActiveSync is Exchange ActiveSync (EAS)."),
    TextOption("client_mail_host", "Mail host for clients", number=13, default="", check="hostname",
               help="Host name clients put in their mail programs for IMAP/POP/SMTP. Blank = the server's host name."),
    # The client area: domain aliases.
    BoolOption("domain_aliases_allowed", "Domain aliases allowed", number=14, default=True,
               help="Whether clients may add domain aliases (other domains delivering to the same mailboxes)."),
    IntOption("domain_aliases_max", "Most domain aliases", number=15, default=5, min_value=0,
              help="Cap on domain aliases per domain when allowed. 0 = unlimited."),
    # Disk billing threshold.
    DecimalOption("disk_included_gb", "Disk included (GB)", number=16, default="0.00", min_value=Decimal("0"),
                  help="Disk included in the price; usage above it is billed in tranches (options 1–4)."),
    # The client area: webmail and the DNS guide.
    TextOption("webmail_url", "Webmail URL", number=17, default="", check="url",
               help="Where clients sign in to webmail. Blank = the server's address."),
    ListOption("dns_mx_hosts", "MX hosts", number=18, default=(), check="hostname", max_items=5,
               help="MX records for the DNS guide, highest priority first (10, 20, …). Blank = the server's host name."),
    TextOption("dns_spf_include", "SPF include", number=19, default="", check="hostname",
               help="Domain put in the SPF record as include:… (v=spf1 include:<this> ~all). Blank = no SPF advice."),
    TextOption("dkim_key_size", "DKIM key size", number=20, default="2048", choices=("1024", "2048"),
               help="Key size used when a client turns DKIM on; the DNS guide shows the selector and key the server "
                    "reports."),
    TextOption("dns_dmarc_policy", "DMARC policy", number=21, default="none", choices=("none", "quarantine", "reject"),
               help="Policy (p=) of the DMARC record the DNS guide suggests."),
    TextOption("dns_dmarc_report_email", "DMARC report address", number=22, default="", check="email",
               help="Address for DMARC aggregate reports (rua=mailto:…). Blank = none."),
    TextOption("dns_autodiscover_host", "Autodiscover host", number=23, default="", check="hostname",
               help="Host for the autodiscover/autoconfig CNAME and SRV records (Outlook, ActiveSync, Thunderbird). "
                    "Blank = no autodiscover records in the DNS guide."),
)

SERVER_SETTINGS = OptionSchema(
    TextOption("api_path", "API path", default="/api/v1/", required=True, max_length=100,
               help="Path of the REST API under the server's address."),
    IntOption("connect_timeout", "Connect timeout (s)", default=5, min_value=1, max_value=60,
              help="How long to wait for the TCP connection."),
    IntOption("read_timeout", "Read timeout (s)", default=30, min_value=1, max_value=600,
              help="How long to wait for an answer before the call counts as failed (and is retried later)."),
)
