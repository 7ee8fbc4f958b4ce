"""How a lower floor asks a higher one to act without importing it (docs/architecture.md, *Floors*).

The apps are floors that only look down: portal → billing → provisioning → voip → payments → api → config.
When a lower floor needs something done above it (billing must have a service suspended on its provider, which
is provisioning's job; a service must have a Celery task queued), it declares a Hook in its `hooks.py` and
calls it like a function. The floor that does the work answers the hook once, at start-up, in its
AppConfig.ready(). The import arrow runs the right way (provisioning → billing) while the call still reaches
up at run time. This is the one mechanism for such calls: no import inside a function to hide an arrow up.
"""
from django.core.exceptions import ImproperlyConfigured


class Hook:
    """A call declared on a lower floor and answered by exactly one function of a higher floor."""

    def __init__(self, name, purpose):
        self.name = name
        self.purpose = purpose
        self.answered_by = None

    def answer(self, function):
        """Register the function that does the work (AppConfig.ready). A second, different answer is a wiring
        mistake and fails at start-up rather than picking one silently."""
        if self.answered_by is not None and self.answered_by is not function:
            raise ImproperlyConfigured(f"The hook {self.name} is answered twice: by {_named(self.answered_by)} "
                                       f"and by {_named(function)}.")
        self.answered_by = function
        return function

    def __call__(self, *args, **kwargs):
        if self.answered_by is None:
            raise ImproperlyConfigured(f"Nothing answers the hook {self.name} ({self.purpose}): is the app that "
                                       "does it in INSTALLED_APPS?")
        return self.answered_by(*args, **kwargs)

    def __repr__(self):
        return f"<Hook {self.name}: {_named(self.answered_by) if self.answered_by else 'not answered'}>"


def _named(function):
    return f"{function.__module__}.{function.__qualname__}"
