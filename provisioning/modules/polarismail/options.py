"""PolarisMail's product options and server settings. The client-area options (password rules, connection
guide, domain aliases, webmail and the DNS guide) are SmarterMail's options 9–15 and 17–19, 21–23 under the
same names, so that the mail client area reads them alike for every module; PolarisMail has no WHMCS numbers
of its own, so they carry none here. docs/module-options.md lists them."""
from dataclasses import replace
from decimal import Decimal

from provisioning.modules.smartermail.options import PRODUCT_OPTIONS as SMARTERMAIL_OPTIONS
from provisioning.options import BoolOption, DecimalOption, IntOption, OptionSchema, TextOption

CLIENT_AREA_OPTIONS = (
    "password_min_length", "password_require_complexity", "password_hint", "protocols", "client_mail_host",
    "domain_aliases_allowed", "domain_aliases_max", "webmail_url", "dns_mx_hosts", "dns_spf_include",
    "dns_dmarc_policy", "dns_dmarc_report_email", "dns_autodiscover_host",
)
DEFAULTS = {"webmail_url": "https://login.emailarray.com"}

PRODUCT_OPTIONS = OptionSchema(
    TextOption("default_account_type", "Default account type", default="basic", choices=("basic", "enhanced"),
               help="Type of a new mailbox when the plan has no per-type mailbox options (mailboxes_basic, "
                    "mailboxes_enhanced)."),
    DecimalOption("default_quota_gb", "Default mailbox quota (GB)", default="10.00", min_value=Decimal("0.01"),
                  help="Quota of a new mailbox unless the customer gives one. PolarisMail takes quotas in GB."),
    BoolOption("twofa_allowed", "Two-factor authentication allowed", default=True,
               help="Whether new mailboxes may turn on two-factor authentication."),
    TextOption("user_language", "Mailbox language", default="en", max_length=10,
               help="Language of new mailboxes' webmail (e.g. en, fr, de)."),
    *(replace(SMARTERMAIL_OPTIONS[name], number=None, **({"default": DEFAULTS[name]} if name in DEFAULTS else {}))
      for name in CLIENT_AREA_OPTIONS),
)

SERVER_SETTINGS = OptionSchema(
    TextOption("fallback_url", "Fallback admin server", default="", check="url",
               help="Where an admin call answered with HTTP 5xx is sent once more, e.g. https://cp.emailarray.com "
                    "(the vendor's client does this). Blank = no second try."),
    TextOption("user_api_url", "User API URL", default="", check="url",
               help="The user API (forwards), e.g. https://cp.emailarray.com/json.php. Blank = the server's address "
                    "+ /json.php."),
    TextOption("control_panel_url", "User control panel", default="", check="url",
               help="Where mailbox owners' Control Panel single sign-on lands (…/processlogin.php), e.g. "
                    "https://cp.emailarray.com. Blank = the server's address."),
    IntOption("token_cache_seconds", "Keep an admin token for (s)", default=300, min_value=0, max_value=3600,
              help="The vendor's client logs in again after 300 s; an expired token is renewed at once anyway."),
    IntOption("connect_timeout", "Connect timeout (s)", default=5, min_value=1, max_value=60),
    IntOption("read_timeout", "Read timeout (s)", default=30, min_value=1, max_value=600),
)
