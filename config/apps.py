from django.apps import AppConfig


class ProjectConfig(AppConfig):
    """The top floor as an app only for what needs an app: the `load_demo` command (config.demo builds the demo
    from every app's own demo module)."""

    name = "config"
    verbose_name = "Project"
