"""Lifecycle controls on the staff Service pages. The Service model and its admin live in billing; the
lifecycle (module calls, buttons, SSO) belongs to provisioning, so billing.admin.ServiceAdmin mixes this in."""
from django.contrib import admin, messages

from portal.activity import Actor
from provisioning import lifecycle
from provisioning.modules.base import ModuleError


def run_transition(modeladmin, request, services, transition, verb, **kwargs):
    """Apply one lifecycle function to each service, reporting successes and each failure by name."""
    actor = Actor.staff(request.user, ip_address=request.META.get("REMOTE_ADDR"))
    done = 0
    for service in services:
        try:
            transition(service=service, actor=actor, **kwargs)
            done += 1
        except (lifecycle.InvalidTransition, ModuleError) as exc:
            modeladmin.message_user(request, str(exc), messages.ERROR)
    if done:
        modeladmin.message_user(request, f"{verb} {done} service(s).", messages.SUCCESS)


class ServiceLifecycleAdminMixin:
    actions = ["accept_create", "suspend_manually", "unsuspend"]

    @admin.action(description="Accept and create (run the module's Create)", permissions=["change"])
    def accept_create(self, request, queryset):
        run_transition(self, request, queryset.select_related("product"), lifecycle.service_create, "Created")

    @admin.action(description="Suspend (by staff)", permissions=["change"])
    def suspend_manually(self, request, queryset):
        reason = lifecycle.Service.SuspendReason.MANUAL
        run_transition(self, request, queryset, lifecycle.service_suspend, "Suspended", reason=reason)

    @admin.action(description="Unsuspend", permissions=["change"])
    def unsuspend(self, request, queryset):
        run_transition(self, request, queryset, lifecycle.service_unsuspend, "Unsuspended")
