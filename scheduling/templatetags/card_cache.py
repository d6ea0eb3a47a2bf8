"""The appointment cards of the time grid (day and week views), each rendered once.

A busy day shows some 240 cards, and rendering the card template is most of the
page's time. A card's HTML is a function of its Card (scheduling/cards.py: the
appointment's times, names and status, and the quick actions offered at this
moment) and of how it is rendered (the card template's source, the language,
escaping, localization, the time zone). `{% appointment_card card %}` renders
exactly what `{% include "scheduling/partials/appointment_card.html" %}` does, and
keeps it under a key made of all of these: a changed appointment, another status,
time passing that changes its actions, or another language is another key, so
nothing ever has to be invalidated and no card is ever stale.

The card template reads nothing else from its context (tests/test_card_cache.py
holds it to that: no user, no permission, no CSRF token), but `error`, which only
a quick action's answer sets; a card with an error is never cached.

The cache is this process's memory, deliberately not settings.CACHES: a card costs
a fraction of a millisecond to render, less than a round trip to Redis, and a
process's memory holds only the code and translations it runs (a deploy or the
development server's reload starts afresh; the reload of a changed translation
without a restart clears it, below). It is bounded, so a worker's memory stays flat.
"""

from __future__ import annotations

import hashlib
import weakref
from dataclasses import fields
from pathlib import Path
from typing import Any

from django import template
from django.core.cache.backends.locmem import LocMemCache
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template import Engine
from django.utils import timezone
from django.utils.autoreload import file_changed
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from ..cards import Card

register = template.Library()

CARD_TEMPLATE = "scheduling/partials/appointment_card.html"

# Some 2,000 cards of 0.6 to 1.5 kB each: a week of a busy clinic's days, a few MB.
CARDS = LocMemCache("scheduling-cards", {"TIMEOUT": 24 * 60 * 60, "OPTIONS": {"MAX_ENTRIES": 2000}})

# A digest of each loaded card template's source: a changed template is another key.
_template_digests: weakref.WeakKeyDictionary[template.Template, str] = weakref.WeakKeyDictionary()


@register.simple_tag(takes_context=True)
def appointment_card(context: template.Context, card: Card) -> SafeString:
    """The card's HTML, as the card template renders it in this context."""
    engine = context.template.engine if context.template is not None else Engine.get_default()
    card_template = engine.get_template(CARD_TEMPLATE)
    if context.get("error"):
        return _render(context, card_template, card)
    key = card_key(context, card_template, card)
    html = CARDS.get(key)
    if html is None:
        html = _render(context, card_template, card)
        CARDS.set(key, str(html))
    return mark_safe(html)


def _render(context: template.Context, card_template: template.Template, card: Card) -> SafeString:
    # What {% include %} does with `with card=...`.
    with context.push(card=card):
        return card_template.render(context)


def card_key(context: template.Context, card_template: template.Template, card: Card) -> str:
    """Everything the card's HTML depends on, digested."""
    digest = _template_digests.get(card_template)
    if digest is None:
        digest = hashlib.sha256(card_template.source.encode()).hexdigest()
        _template_digests[card_template] = digest
    shown = tuple(getattr(card, field.name) for field in fields(card))
    parts: tuple[Any, ...] = (
        digest,
        get_language(),
        timezone.get_current_timezone_name(),
        context.autoescape,
        context.use_l10n,
        context.use_tz,
        shown,
    )
    return "card:" + hashlib.sha256(repr(parts).encode()).hexdigest()


@receiver(file_changed, dispatch_uid="scheduling-cards-file-changed")
def _forget_cards_on_reload(sender: object, file_path: Path, **kwargs: object) -> None:
    """The development server reloads a changed translation (or template) without
    restarting: the cards rendered with the old one go. Returns None, so the
    autoreloader still restarts for any other file."""
    CARDS.clear()


@receiver(setting_changed, dispatch_uid="scheduling-cards-setting-changed")
def _forget_cards_on_setting_change(**kwargs: object) -> None:
    """A test that changes the templates, languages or formats starts afresh."""
    CARDS.clear()
