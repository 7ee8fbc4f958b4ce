"""A small WHMCS database with the awkward data real ones have: disabled cycles (-1 prices), Latin-1 leftovers,
zero dates, a deleted product still referenced, clients with credit and partial payments, MD5-era passwords,
a login linked to two clients, transactions without a client, repeated transaction ids, unsupported cycles."""
from datetime import date, datetime

import bcrypt

from tests.whmcs_import.builder import insert
from whmcs_import.crypto import encrypt

ENCRYPTION_HASH = "c2b1f4a6e1d6e0b97a3b8c5d4e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a"
ALICE_PASSWORD = "correct horse battery"
SERVER_PASSWORD = "server-secret-Ü-42"
SERVICE_PASSWORD = "mailbox pass 123456789012345678901234567890"  # longer than one 20-byte block
VODIA_LINE = "rucken.wat1.ictvoip.ca | 5484815577 | 5197830020 | 8300"
Z = "0000-00-00"


def alice_hash():
    # WHMCS writes PHP's password_hash(): bcrypt with the $2y$ prefix.
    return "$2y$" + bcrypt.hashpw(ALICE_PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()[4:]


def pricing(type_, currency, relid, monthly=-1, quarterly=-1, semiannually=-1, annually=-1, biennially=-1,
            triennially=-1, msetupfee=0, asetupfee=0):
    return {"type": type_, "currency": currency, "relid": relid, "msetupfee": msetupfee, "qsetupfee": 0,
            "ssetupfee": 0, "asetupfee": asetupfee, "bsetupfee": 0, "tsetupfee": 0, "monthly": monthly,
            "quarterly": quarterly, "semiannually": semiannually, "annually": annually, "biennially": biennially,
            "triennially": triennially}


def fill(connection):
    insert(connection, "tblconfiguration", [
        {"setting": setting, "value": value} for setting, value in [
            ("AutoSuspension", "on"), ("AutoSuspensionDays", "7"), ("AutoUnsuspend", "on"), ("AutoTermination", "on"),
            ("AutoTerminationDays", "40"), ("AutoClientStatusChange", "3"), ("CreateInvoiceDaysBefore", "10"),
            ("TaxEnabled", "on"), ("TaxType", "Exclusive"), ("TaxL2Compound", "on"), ("TaxPerLineItem", "on")]])
    insert(connection, "tbltax", [
        {"id": 1, "level": 1, "name": "GST", "state": "", "country": "CA", "taxrate": "5.000"},
        {"id": 2, "level": 2, "name": "QST", "state": "Quebec", "country": "CA", "taxrate": "9.975"},
        {"id": 3, "level": 1, "name": "VAT", "state": "", "country": "", "taxrate": "20.000"},  # every country
        {"id": 4, "level": 1, "name": "HST", "state": "", "country": "CA", "taxrate": "13.000"},  # overlaps #1
    ])
    insert(connection, "tblcurrencies", [{"id": 1, "code": "USD", "default": 1}, {"id": 2, "code": "CAD", "default": 0}])
    insert(connection, "tblclientgroups", [{"id": 1, "groupname": "Resellers"}])
    insert(connection, "tblclients", [
        {"id": 1, "firstname": "Alice", "lastname": "Arden", "companyname": "Arden Ltd", "email": "alice@example.com",
         "country": "CA", "currency": 1, "credit": "25.00", "taxexempt": 0, "groupid": 1, "datecreated": "2019-03-01",
         "notes": "CafÃ© rÃ©servÃ©", "status": "Active", "language": "",
         "state": "", "tax_id": "DE 136 695 976"},  # UTF-8 stored through Latin-1: mojibake
        {"id": 2, "firstname": "Bob", "lastname": "Brook", "companyname": "", "email": "bob@example.com",
         "country": "", "currency": 2, "credit": "10.00", "taxexempt": 1, "groupid": 0, "datecreated": Z,
         "notes": "", "status": "Inactive", "language": "french", "state": "",
         "tax_id": "DE136695977"},  # a wrong check digit
        {"id": 3, "firstname": "Carol", "lastname": "Closed", "companyname": "", "email": "carol@example.com",
         "country": "CA", "state": "Quebec", "currency": 1, "credit": "7.50", "taxexempt": 0, "groupid": 0,
         "datecreated": "2018-01-01", "notes": "", "status": "Closed", "language": "",
         "tax_id": "123456789 RT0001"},  # a Canadian business number: no EU VAT number
    ])
    insert(connection, "tblcontacts", [
        {"id": 1, "userid": 1, "firstname": "Jürgen", "lastname": "Müller", "email": "billing@arden.example",
         "invoiceemails": 1, "generalemails": 0, "productemails": 0, "domainemails": 0, "supportemails": 0,
         "affiliateemails": 0},
        {"id": 2, "userid": 99, "firstname": "Ghost", "lastname": "", "email": "ghost@example.com",
         "invoiceemails": 0, "generalemails": 0, "productemails": 0, "domainemails": 0, "supportemails": 0,
         "affiliateemails": 0},
    ])
    insert(connection, "tblusers", [
        {"id": 1, "first_name": "Alice", "last_name": "Arden", "email": "alice@example.com", "password": alice_hash()},
        {"id": 2, "first_name": "Bob", "last_name": "Brook", "email": "bob@example.com",
         "password": "5f4dcc3b5aa765d61d8327deb882cf99:x1"},  # MD5-era: cannot be kept
        {"id": 3, "first_name": "Orphan", "last_name": "", "email": "orphan@example.com", "password": alice_hash()},
    ])
    insert(connection, "tblusers_clients", [
        {"auth_user_id": 1, "client_id": 1, "owner": 1}, {"auth_user_id": 1, "client_id": 2, "owner": 0},
        {"auth_user_id": 2, "client_id": 2, "owner": 1},
    ])
    insert(connection, "tblproductgroups", [{"id": 1, "name": "Email", "hidden": 0, "order": 1},
                                            {"id": 2, "name": "VoIP", "hidden": 0, "order": 2}])
    products = [
        {"id": 1, "type": "hostingaccount", "gid": 1, "name": "Mail Basic", "paytype": "recurring",
         "autosetup": "payment", "servertype": "smartermail", "servergroup": 1, "configoption1": "2",
         "configoption7": "25", "configoption20": "4096", "configoption21": "sideways", "hidden": 0},
        {"id": 2, "type": "other", "gid": 2, "name": "Vodia PBX", "paytype": "recurring", "autosetup": "on",
         "servertype": "vodia", "servergroup": 0, "configoption1": "", "configoption7": "", "configoption20": "",
         "configoption21": "", "hidden": 0},
        {"id": 3, "type": "other", "gid": 1, "name": "Migration help", "paytype": "onetime", "autosetup": "",
         "servertype": "", "servergroup": 0, "configoption1": "", "configoption7": "", "configoption20": "",
         "configoption21": "", "hidden": 1},
        {"id": 4, "type": "other", "gid": 1, "name": "Mail Basic", "paytype": "free", "autosetup": "order",
         "servertype": "cpanel", "servergroup": 0, "configoption1": "", "configoption7": "", "configoption20": "",
         "configoption21": "", "hidden": 0},  # same name in the group, and a module the portal has not
    ]
    insert(connection, "tblproducts", products)
    insert(connection, "tblpricing", [
        pricing("product", 1, 1, monthly="5.00", annually="50.00", msetupfee="1.50", biennially="90.00"),
        pricing("product", 2, 1, monthly="7.00"),
        pricing("product", 1, 2, monthly="20.00"),
        pricing("product", 1, 3, monthly="100.00", msetupfee=-1),
        pricing("product", 1, 4, monthly=0, annually=0),
        pricing("product", 1, 9, monthly="3.00"),  # product 9 was deleted
        pricing("configoptions", 1, 1, monthly="1.00", annually="10.00"),
        pricing("configoptions", 1, 2, monthly=0, annually=0),
        pricing("configoptions", 1, 3, monthly="2.00", annually="20.00"),
    ])
    insert(connection, "tblproductconfiggroups", [{"id": 1, "name": "Mail options", "description": ""}])
    insert(connection, "tblproductconfiglinks", [{"gid": 1, "pid": 1}])
    insert(connection, "tblproductconfigoptions", [
        {"id": 1, "gid": 1, "optionname": "mailboxes|Mailboxes", "optiontype": "4", "qtyminimum": 1, "qtymaximum": 100,
         "order": 1},
        {"id": 2, "gid": 1, "optionname": "mailbox_type|Mailbox type", "optiontype": "1", "qtyminimum": 0,
         "qtymaximum": 0, "order": 2},
        {"id": 3, "gid": 2, "optionname": "orphan|Orphan option", "optiontype": "1", "qtyminimum": 0, "qtymaximum": 0,
         "order": 3},
    ])
    insert(connection, "tblproductconfigoptionssub", [
        {"id": 1, "configid": 1, "optionname": "mailbox|Mailbox", "sortorder": 0},
        {"id": 2, "configid": 2, "optionname": "standard|Standard", "sortorder": 1},
        {"id": 3, "configid": 2, "optionname": "enhanced|Enhanced", "sortorder": 2},
    ])
    insert(connection, "tblservers", [
        {"id": 1, "name": "mail1", "ipaddress": "192.0.2.10", "hostname": "mail1.example.net", "maxaccounts": 500,
         "type": "smartermail", "username": "admin", "password": encrypt(SERVER_PASSWORD, ENCRYPTION_HASH),
         "accesshash": "", "secure": "on", "port": 443, "active": 1, "disabled": 0},
    ])
    insert(connection, "tblservergroups", [{"id": 1, "name": "Mail servers", "filltype": 1}])
    insert(connection, "tblservergroupsrel", [{"groupid": 1, "serverid": 1}])
    hosting = dict(orderid=0, server=0, paymentmethod="paypal", qty=1, username="", password="", notes="",
                   suspendreason="", diskusage=0, disklimit=0, nextinvoicedate=Z, termination_date=Z,
                   created_at="2020-01-01 10:00:00")
    insert(connection, "tblhosting", [
        {**hosting, "id": 1, "userid": 1, "packageid": 1, "server": 1, "regdate": "2020-01-01", "domain": "arden.example",
         "firstpaymentamount": "16.50", "amount": "15.00", "billingcycle": "Monthly", "nextduedate": "2026-12-01",
         "nextinvoicedate": "2026-11-21", "domainstatus": "Active", "username": "arden",
         "password": encrypt(SERVICE_PASSWORD, ENCRYPTION_HASH), "diskusage": 512, "disklimit": 1024},
        {**hosting, "id": 2, "userid": 1, "packageid": 9, "regdate": Z, "domain": "old.arden.example",
         "firstpaymentamount": "3.00", "amount": "3.00", "billingcycle": "Monthly", "nextduedate": Z,
         "domainstatus": "Suspended", "suspendreason": "Overdue on Payment"},
        {**hosting, "id": 3, "userid": 2, "packageid": 2, "regdate": "2021-05-05", "domain": "brook.example",
         "firstpaymentamount": "20.00", "amount": "20.00", "billingcycle": "Monthly", "nextduedate": "2026-12-05",
         "domainstatus": "Active"},
        {**hosting, "id": 4, "userid": 2, "packageid": 1, "regdate": "2021-06-01", "domain": "mail.brook.example",
         "firstpaymentamount": "24.00", "amount": "24.00", "billingcycle": "Biennially", "nextduedate": "2027-06-01",
         "domainstatus": "Fraud"},
        {**hosting, "id": 5, "userid": 99, "packageid": 1, "regdate": "2021-06-01", "domain": "ghost.example",
         "firstpaymentamount": "1.00", "amount": "1.00", "billingcycle": "Monthly", "nextduedate": "2026-12-01",
         "domainstatus": "Active"},
    ])
    insert(connection, "tblhostingconfigoptions", [
        {"relid": 1, "configid": 1, "optionid": 1, "qty": 10}, {"relid": 1, "configid": 2, "optionid": 3, "qty": 0},
        {"relid": 3, "configid": 2, "optionid": 3, "qty": 0},  # the Vodia product has no such option
    ])
    insert(connection, "tblcustomfields", [{"id": 1, "type": "product", "relid": 2,
                                            "fieldname": "Tenant | Inbound DID(s)", "fieldtype": "text"}])
    insert(connection, "tblcustomfieldsvalues", [{"fieldid": 1, "relid": 3, "value": VODIA_LINE}])
    insert(connection, "tblcancelrequests", [{"date": "2026-11-15 09:30:00", "relid": 1, "reason": "Moving away",
                                              "type": "End of Billing Period"}])
    invoice = dict(credit="0.00", tax="0.00", tax2="0.00", taxrate="0.000", taxrate2="0.000", paymentmethod="paypal",
                   notes="", datepaid=Z, invoicenum="")
    insert(connection, "tblinvoices", [
        {**invoice, "id": 1, "userid": 1, "date": "2026-10-01", "duedate": "2026-10-01", "datepaid": "2026-10-02 12:00:00",
         "subtotal": "10.00", "total": "10.00", "status": "Paid"},
        {**invoice, "id": 2, "userid": 1, "date": Z, "duedate": "2026-11-01", "subtotal": "45.00", "tax": "5.00",
         "taxrate": "11.111", "total": "50.00", "status": "Unpaid"},  # partly paid, zero date
        {**invoice, "id": 3, "userid": 2, "date": "2026-09-01", "duedate": "2026-09-10", "datepaid": "2026-09-05 08:00:00",
         "subtotal": "30.00", "credit": "5.00", "total": "30.00", "status": "Paid", "invoicenum": "2026-0003"},
        {**invoice, "id": 4, "userid": 1, "date": "2026-08-01", "duedate": "2026-08-01", "subtotal": "5.00",
         "total": "5.00", "status": "Cancelled"},
        {**invoice, "id": 5, "userid": 99, "date": "2026-08-01", "duedate": "2026-08-01", "subtotal": "5.00",
         "total": "5.00", "status": "Unpaid"},
        {**invoice, "id": 6, "userid": 2, "date": "2026-07-01", "duedate": "2026-07-01", "datepaid": "2026-07-01 10:00:00",
         "subtotal": "15.00", "total": "15.00", "status": "Paid", "invoicenum": "2026-0003"},  # a repeated number
        {**invoice, "id": 7, "userid": 3, "date": "2026-05-01", "duedate": "2026-05-15", "subtotal": "110.00",
         "taxrate": "5.000", "tax": "5.00", "taxrate2": "9.975", "tax2": "10.47", "total": "125.47",
         "status": "Unpaid"},  # two levels, QST compound on GST: 9.975% of (100.00 + 5.00)
    ])
    item = dict(userid=1, paymentmethod="paypal", notes="", duedate=Z, taxed=0)
    insert(connection, "tblinvoiceitems", [
        {**item, "invoiceid": 1, "type": "Hosting", "relid": 1, "description": "Mail Basic - arden.example", "amount": "10.00"},
        {**item, "invoiceid": 2, "type": "Hosting", "relid": 1, "description": "Mail Basic - arden.example", "amount": "40.00",
         "taxed": 1},
        {**item, "invoiceid": 2, "type": "Hosting", "relid": 2, "description": "Old product", "amount": "5.00", "taxed": 1},
        {**item, "invoiceid": 3, "userid": 2, "type": "Hosting", "relid": 3, "description": "Vodia PBX", "amount": "30.00"},
        {**item, "invoiceid": 4, "type": "LateFee", "relid": 0, "description": "Late fee", "amount": "5.00"},
        {**item, "invoiceid": 5, "userid": 99, "type": "Item", "relid": 0, "description": "Ghost", "amount": "5.00"},
        {**item, "invoiceid": 6, "userid": 2, "type": "AddFunds", "relid": 0, "description": "Add Funds", "amount": "15.00"},
        {**item, "invoiceid": 7, "userid": 3, "type": "Item", "relid": 0, "description": "Consulting",
         "amount": "100.00", "taxed": 1},
        {**item, "invoiceid": 7, "userid": 3, "type": "Item", "relid": 0, "description": "Postage", "amount": "10.00"},
    ])
    account = dict(currency=0, fees="0.00", amountout="0.00", rate="1.00000", refundid=0, description="Invoice Payment")
    insert(connection, "tblaccounts", [
        {**account, "id": 1, "userid": 1, "gateway": "paypal", "date": datetime(2026, 10, 2, 12), "amountin": "10.00",
         "fees": "0.59", "transid": "PP-1", "invoiceid": 1},
        {**account, "id": 2, "userid": 1, "gateway": "paypal", "date": datetime(2026, 11, 2, 12), "amountin": "20.00",
         "transid": "PP-2", "invoiceid": 2},  # a partial payment of invoice 2
        {**account, "id": 3, "userid": 2, "gateway": "stripe", "date": datetime(2026, 9, 5, 8), "amountin": "25.00",
         "transid": "ch_3", "invoiceid": 3},
        {**account, "id": 4, "userid": 2, "gateway": "stripe", "date": datetime(2026, 7, 1, 10), "amountin": "15.00",
         "transid": "ch_3", "invoiceid": 6},  # the same transaction id again
        {**account, "id": 5, "userid": 1, "gateway": "paypal", "date": datetime(2026, 10, 3, 9), "amountin": "0.00",
         "amountout": "4.00", "transid": "PP-1-R", "invoiceid": 1, "refundid": 1, "description": "Refund"},
        {**account, "id": 6, "userid": 0, "gateway": "banktransfer", "date": datetime(2026, 10, 3, 9),
         "amountin": "0.00", "amountout": "99.00", "transid": "", "invoiceid": 0, "description": "Server rent"},
    ])
    insert(connection, "tblcredit", [
        {"clientid": 1, "date": date(2026, 6, 1), "description": "Add Funds Invoice #7", "amount": "30.00", "relid": 0},
        {"clientid": 1, "date": date(2026, 6, 2), "description": "Credit Applied to Invoice #2", "amount": "-5.00",
         "relid": 2},
        {"clientid": 2, "date": date(2026, 7, 1), "description": "Added funds", "amount": "15.00", "relid": 0},
        {"clientid": 2, "date": date(2026, 9, 5), "description": "Credit Applied to Invoice #3", "amount": "-5.00",
         "relid": 3},
        {"clientid": 99, "date": date(2026, 9, 5), "description": "Ghost credit", "amount": "1.00", "relid": 0},
    ])  # client 3 has a balance of 7.50 and no history: an opening-balance entry makes it up
    template = dict(attachments="", fromname="", fromemail="", disabled=0, custom=0, copyto="", plaintext=0, language="")
    insert(connection, "tblemailtemplates", [
        {**template, "type": "invoice", "name": "Invoice Created", "subject": "Invoice {$invoice_num} created",
         "message": "<p>Dear {$client_first_name},</p><p>Your invoice is ready &amp; waiting.</p>"},
        {**template, "type": "general", "name": "Low Balance Alert", "subject": "Low balance",
         "message": "<p>Dear {$client_first_name}, your balance is low.</p>"},
        {**template, "type": "domain", "name": "Domain Renewal Notice", "subject": "Renew",
         "message": "<p>Renew {$domain_name}</p>"},
        {**template, "type": "product", "name": "Conditional Welcome", "subject": "Welcome",
         "message": "{if $service_domain}Welcome {$service_domain}{/if}"},
        {**template, "type": "invoice", "name": "Invoice Created", "subject": "Facture", "message": "<p>Bonjour</p>",
         "language": "french"},
    ])
    insert(connection, "mod_puq_overwrite_suspend_termination", [
        {"type": "product", "relid": 1, "overwrite_suspension": 1, "suspend_days": 3, "overwrite_termination": 1,
         "terminate_days": 20}])
    insert(connection, "tbladdonmodules", [
        {"module": "puq_overwrite_suspend_termination", "setting": "type", "value": "product"},
        {"module": "puq_overwrite_suspend_termination", "setting": "cron", "value": "every_run"}])


def fill_more(connection, n):
    """`n` more clients, each with a login, a service with options, two invoices with items, payments and credit."""
    first = 1000
    insert(connection, "tblclients", [
        {"id": first + i, "firstname": f"Client{i}", "lastname": "More", "companyname": "", "email": f"c{i}@more.example",
         "country": "US", "currency": 1, "credit": "1.00", "taxexempt": 0, "groupid": 0, "datecreated": "2020-01-01",
         "notes": "", "status": "Active", "language": ""} for i in range(n)])
    insert(connection, "tblusers", [
        {"id": first + i, "first_name": f"Client{i}", "last_name": "More", "email": f"c{i}@more.example",
         "password": "$2y$04$" + "a" * 53} for i in range(n)])
    insert(connection, "tblusers_clients", [{"auth_user_id": first + i, "client_id": first + i, "owner": 1}
                                            for i in range(n)])
    insert(connection, "tblhosting", [
        {"id": first + i, "userid": first + i, "packageid": 1, "server": 1, "regdate": "2020-01-01",
         "domain": f"more{i}.example", "firstpaymentamount": "5.00", "amount": "5.00", "billingcycle": "Monthly",
         "nextduedate": "2026-12-01", "nextinvoicedate": "2026-11-21", "domainstatus": "Active", "username": "",
         "password": "", "notes": "", "suspendreason": "", "orderid": 0, "paymentmethod": "paypal"} for i in range(n)])
    insert(connection, "tblhostingconfigoptions", [{"relid": first + i, "configid": 1, "optionid": 1, "qty": 3}
                                                   for i in range(n)])
    insert(connection, "tblinvoices", [
        {"id": first + 2 * i + k, "userid": first + i, "date": "2026-10-01", "duedate": "2026-10-01", "subtotal": "5.00",
         "total": "5.00", "credit": "0.00", "tax": "0.00", "tax2": "0.00", "taxrate": "0", "taxrate2": "0",
         "status": "Paid", "paymentmethod": "paypal", "notes": "", "invoicenum": ""} for i in range(n) for k in (0, 1)])
    insert(connection, "tblinvoiceitems", [
        {"invoiceid": first + 2 * i + k, "userid": first + i, "type": "Hosting", "relid": first + i,
         "description": "More", "amount": "5.00", "taxed": 0, "paymentmethod": "paypal", "notes": ""}
        for i in range(n) for k in (0, 1)])
    insert(connection, "tblaccounts", [
        {"userid": first + i, "currency": 0, "gateway": "paypal", "date": datetime(2026, 10, 1), "description": "",
         "amountin": "5.00", "fees": "0.00", "amountout": "0.00", "transid": f"M-{i}-{k}", "invoiceid": first + 2 * i + k,
         "refundid": 0} for i in range(n) for k in (0, 1)])
    insert(connection, "tblcredit", [{"clientid": first + i, "date": date(2026, 1, 1), "description": "Manual",
                                      "amount": "1.00", "relid": 0} for i in range(n)])
