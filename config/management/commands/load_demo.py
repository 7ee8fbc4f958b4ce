from django.core.management.base import BaseCommand

from config import demo


class Command(BaseCommand):
    help = "Load the demo data set (staff login, clients, products, services, invoices). Loading twice adds nothing."

    def handle(self, *args, **options):
        if demo.load_demo():
            self.stdout.write(self.style.SUCCESS("Demo data loaded."))
        else:
            self.stdout.write("Demo data is already loaded.")
        self.stdout.write(f"  Staff area:  /admin/  login {demo.STAFF_USERNAME} / {demo.STAFF_PASSWORD}")
        self.stdout.write(f"  Client area: /        login {demo.CLIENTS[0].email} / {demo.CLIENT_PASSWORD}")
