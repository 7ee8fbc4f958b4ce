from django.apps import AppConfig


class ProvisioningConfig(AppConfig):
    name = "provisioning"
    verbose_name = "Provisioning"

    def ready(self):
        # Imported here, not at the top: app modules load models, which Django allows only once apps are ready.
        from billing import hooks
        from provisioning import lifecycle, lifecycle_batch, welcome

        # billing asks for the service lifecycle on the provider; provisioning does it (portal.hooks).
        for name in ("service_create", "service_suspend", "service_unsuspend", "service_terminate",
                     "service_cancel", "service_change_package", "waiting_for_staff"):
            getattr(hooks, name).answer(getattr(lifecycle, name))
        for name in ("services_suspend_batch", "services_terminate_batch"):
            getattr(hooks, name).answer(getattr(lifecycle_batch, name))
        hooks.welcome_details.answer(welcome.welcome_details)
