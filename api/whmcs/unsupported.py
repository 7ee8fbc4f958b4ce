"""Actions of other WHMCS API categories the portal has no feature for: named, so that they answer "not
supported" rather than "Command Not Found" (which is for names WHMCS does not have)."""
from api.whmcs.registry import unsupported

unsupported("Other", "the portal has no support tickets", "OpenTicket", "AddTicketReply", "GetTickets", "GetTicket",
            "UpdateTicket", "DeleteTicket", "GetSupportDepartments", "GetSupportStatuses", "GetTicketCounts")
unsupported("Other", "the portal does not register or transfer domains", "DomainRegister", "DomainTransfer",
            "DomainRenew", "DomainWhois", "GetTLDPricing", "DomainGetNameservers", "DomainUpdateNameservers")
unsupported("Other", "the portal has no affiliates", "AffiliateActivate", "GetAffiliates")
unsupported("Other", "the portal has no knowledge base or announcements", "GetAnnouncements", "AddAnnouncement")
