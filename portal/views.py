"""The client-area shell: sign-in, password, profile and `client_required`, which every client page wears.
The dashboard, services and invoices are billing's pages (billing.views); each app adds its own."""
from functools import wraps

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm, PasswordResetForm, SetPasswordForm
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_GET

from portal import selectors, two_factor
from portal.activity import Actor
from portal.forms import ClientLoginForm, CrispyFormMixin, ProfileForm
from portal.services import client_password_changed, client_update_profile

PAGE_SIZE = 25


def client_required(view):
    """Signed in, and as a client: the view gets `request.client`. Staff are sent to the staff area."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        client = selectors.client_for_user(request.user)
        if client is None:
            if request.user.is_staff:
                messages.info(request, "Staff accounts use the staff area.")
                return redirect("admin:index")
            raise PermissionDenied("This login has no client account.")
        request.client = client
        return view(request, *args, **kwargs)

    return wrapper


@client_required
def profile(request):
    form = ProfileForm(request.POST or None, instance=request.client)
    if request.method == "POST" and form.is_valid():
        # The form validated a copy; the service applies and audits the change on the real row.
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        client_update_profile(client=selectors.client_for_user(request.user), actor=Actor.from_request(request), changes=changes)
        messages.success(request, "Your details were saved." if changes else "Nothing changed.")
        return redirect("clientarea:profile")
    return render(request, "portal/profile.html", {"form": form})


class CrispyPasswordChangeForm(CrispyFormMixin, PasswordChangeForm):
    submit_label = "Change password"


class CrispyPasswordResetForm(CrispyFormMixin, PasswordResetForm):
    submit_label = "Send reset link"


class CrispySetPasswordForm(CrispyFormMixin, SetPasswordForm):
    submit_label = "Set password"


class TwoStepLoginMixin:
    """For a LoginView: after the right password, a user with two-factor goes on to the code step (`verify_url`)
    instead of being signed in."""

    verify_url = None

    def form_valid(self, form):
        user = form.get_user()
        if not two_factor.has_two_factor(user):
            return super().form_valid(form)
        two_factor.begin_sign_in(self.request, user, next_url=self.get_success_url())
        return redirect(self.verify_url)


class LoginView(TwoStepLoginMixin, auth_views.LoginView):
    verify_url = "clientarea:login_verify"
    form_class = ClientLoginForm
    template_name = "portal/login.html"
    redirect_authenticated_user = True


class PasswordChangeView(auth_views.PasswordChangeView):
    form_class = CrispyPasswordChangeForm
    template_name = "portal/password_change.html"
    success_url = reverse_lazy("clientarea:profile")

    def dispatch(self, request, *args, **kwargs):
        return client_required(super().dispatch)(request, *args, **kwargs)

    def form_valid(self, form):
        response = super().form_valid(form)
        client_password_changed(client=self.request.client, user=self.request.user,
                                actor=Actor.from_request(self.request))
        messages.success(self.request, "Your password was changed.")
        return response


class PasswordResetView(auth_views.PasswordResetView):
    form_class = CrispyPasswordResetForm
    template_name = "portal/password_reset.html"
    email_template_name = "portal/emails/password_reset.txt"
    subject_template_name = "portal/emails/password_reset_subject.txt"
    success_url = reverse_lazy("clientarea:password_reset_done")


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    form_class = CrispySetPasswordForm
    template_name = "portal/password_reset_confirm.html"
    success_url = reverse_lazy("clientarea:password_reset_complete")


@require_GET
def healthz(request):
    """For load balancers and the container health check: the process answers and the database is reachable."""
    from django.db import connection

    connection.ensure_connection()
    return HttpResponse("ok", content_type="text/plain")
