"""Plain-text templates of e-mails and messages: Django template syntax with the WHMCS merge-field names
(`{{ client_first_name }}`), and texts pasted from WHMCS in Smarty syntax (`{$client_first_name}`) converted.
On the ground floor because more than billing writes e-mails from such texts (billing's templates, portal's
invitations)."""
import re

from django.template import Context, Engine

SMARTY_VARIABLE = re.compile(r"\{\$([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)\}")
SMARTY_UNSUPPORTED = re.compile(r"\{/?(?:if|else|elseif|foreach|section|literal|php)\b[^}]*\}")
# The engine has no template loaders or extra tag libraries: these tags could only fail when the e-mail is sent
# ({% include %} inside an {% if %} passes a test render), and {% debug %} would print the server's modules.
REFUSED_TAGS = re.compile(r"\{%\s*(include|extends|load|debug)\b")
# Plain-text mail: no HTML escaping. Staff edit the templates; the engine has no loaders (no {% include %}).
ENGINE = Engine(autoescape=False, loaders=[])


def smarty_to_django(text):
    """`{$client_first_name}` → `{{ client_first_name }}`; Django syntax is left as it is."""
    return SMARTY_VARIABLE.sub(lambda match: "{{ " + match.group(1) + " }}", text)


def unsupported_smarty(text):
    """Smarty blocks ({if}, {foreach}, …) that the conversion does not translate, for a clear admin error."""
    return sorted(set(SMARTY_UNSUPPORTED.findall(text)))


def refused_tags(text):
    """Template tags an e-mail text may not use ({% include %}, {% extends %}, {% load %}, {% debug %})."""
    return sorted(set(REFUSED_TAGS.findall(text)))


def render_text(text, context):
    """Render one template text (Django or Smarty variables). Raises TemplateSyntaxError on a broken template."""
    return ENGINE.from_string(smarty_to_django(text)).render(Context(context, autoescape=False))
