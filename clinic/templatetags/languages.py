"""`{{ patient.preferred_language|language_name }}`: a language code of
settings.LANGUAGES as its name in the page's language ("Spanish", "Español" in
Spanish); empty for no code, and the code itself for one the clinic does not offer."""

from __future__ import annotations

from django import template
from django.conf import settings

register = template.Library()


@register.filter
def language_name(code: str | None) -> str:
    if not code:
        return ""
    name = dict(settings.LANGUAGES).get(code)
    return str(name) if name is not None else code
