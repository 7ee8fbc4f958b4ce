"""Send the password-reset e-mails the WHMCS import queued (logins whose old password could not be kept).

    python manage.py send_whmcs_password_resets [--list] [--limit N]
"""
from django.core.management.base import BaseCommand

from whmcs_import.resets import pending_resets, send_resets


class Command(BaseCommand):
    help = "Send the password-reset e-mails queued by import_whmcs (each login once)."

    def add_arguments(self, parser):
        parser.add_argument("--list", dest="list_only", action="store_true", help="Only list the logins waiting; send nothing.")
        parser.add_argument("--limit", type=int, help="Send at most this many (e.g. to spread them out).")

    def handle(self, *args, list_only, limit, **options):
        if list_only:
            for pending in pending_resets():
                self.stdout.write(f"{pending.user.email}\t{pending.reason}")
            return
        self.stdout.write(f"{send_resets(limit=limit)} password reset e-mail(s) sent.")
