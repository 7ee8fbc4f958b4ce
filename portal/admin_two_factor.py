"""The staff area's user pages with two-factor sign-in (portal.two_factor): whether each login has it on, and
turning it off for others (a lost phone), which needs its own permission (portal.reset_two_factor), a session
that passed two-factor, and is audited per login. django-otp's own device pages are removed: they would let
anyone with the model permissions read secrets or delete devices without the audit."""
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import Exists, OuterRef
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal import two_factor
from portal.activity import Actor

User = get_user_model()

for model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class PortalUserAdmin(UserAdmin):
    list_display = [*UserAdmin.list_display, "two_factor"]
    actions = ["reset_two_factor"]

    def get_queryset(self, request):
        confirmed = TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)
        return super().get_queryset(request).annotate(has_two_factor=Exists(confirmed))

    @admin.display(description="Two-factor", boolean=True, ordering="has_two_factor")
    def two_factor(self, obj):
        return obj.has_two_factor

    def has_reset_two_factor_permission(self, request):
        return request.user.has_perm(two_factor.RESET_PERMISSION)

    @admin.action(permissions=["reset_two_factor"], description="Turn off two-factor sign-in of the selected logins")
    def reset_two_factor(self, request, queryset):
        refusal = two_factor.refusal_without_two_factor(request, what="Turning off another login's two-factor",
                                                        target=None)
        if refusal:
            self.message_user(request, refusal, messages.ERROR)
            return
        users = list(queryset.exclude(pk=request.user.pk))
        if len(users) < queryset.count():
            self.message_user(request, "Your own two-factor is turned off on your Two-factor sign-in page, with a "
                                       "current code; it was left as it is.", messages.WARNING)
        count = two_factor.reset_for_users(users=users, actor=Actor.from_request(request))
        self.message_user(request, f"Two-factor sign-in turned off for {count} of the {len(users)} selected "
                                   f"login(s); the others did not have it on.", messages.SUCCESS)
