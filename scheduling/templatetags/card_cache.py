"""The appointment cards of the time grid (day and week views), rendered once.

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

`{% kept_column column can_book %}` does the same for a whole column's free spaces
and cards, so a day whose columns have not changed costs a digest per column.

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
from itertools import count
from operator import attrgetter
from pathlib import Path

from django import template
from django.core.cache.backends.locmem import LocMemCache
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template import Engine
from django.template.base import FilterExpression
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


def _card_template(context: template.Context) -> template.Template:
    engine = context.template.engine if context.template is not None else Engine.get_default()
    return engine.get_template(CARD_TEMPLATE)


def _template_digest(loaded: template.Template) -> str:
    digest = _template_digests.get(loaded)
    if digest is None:
        digest = hashlib.sha256(loaded.source.encode()).hexdigest()
        _template_digests[loaded] = digest
    return digest


def _card_template_digest(context: template.Context) -> str:
    return _template_digest(_card_template(context))


@register.simple_tag(takes_context=True)
def appointment_card(context: template.Context, card: Card) -> SafeString:
    """The card's HTML, as the card template renders it in this context."""
    card_template = _card_template(context)
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
    digest = _template_digest(card_template)
    return _key("card", context, digest, _shown(card))


# Every field of a Card, for its key: what the card template may show.
_shown = attrgetter(*(field.name for field in fields(Card)))


def _key(kind: str, context: template.Context, *shown: object) -> str:
    """A digest of `shown` and of how the context renders it."""
    parts = (
        get_language(),
        timezone.get_current_timezone_name(),
        context.autoescape,
        context.use_l10n,
        context.use_tz,
        shown,
    )
    return f"{kind}:" + hashlib.sha256(repr(parts).encode()).hexdigest()


@register.tag
def kept_column(parser: template.base.Parser, token: template.base.Token) -> KeptColumnNode:
    """`{% kept_column column can_book %}...{% endkept_column %}`: a grid column's free
    spaces and cards (calendar.Column.in_time_order), rendered once and kept like a
    card, under a digest of all that the block shows: each placed item (its rows
    and every field of its card or free space), the column's number, day and
    doctor, and whether the user may book (the free spaces' links)."""
    bits = token.split_contents()
    if len(bits) != 3:
        raise template.TemplateSyntaxError("kept_column takes a column and can_book.")
    nodelist = parser.parse(("endkept_column",))
    parser.delete_first_token()
    return KeptColumnNode(nodelist, parser.compile_filter(bits[1]), parser.compile_filter(bits[2]))


class KeptColumnNode(template.Node):
    # One number per compiled block: a template compiled again (a changed file) keeps
    # nothing of the old one's, and the cache is this process's.
    _numbers = count()

    def __init__(
        self, nodelist: template.NodeList, column: FilterExpression, can_book: FilterExpression
    ):
        self.nodelist = nodelist
        self.column = column
        self.can_book = can_book
        self.number = next(self._numbers)

    def render(self, context: template.Context) -> str:
        if context.get("error"):
            return self.nodelist.render(context)
        column = self.column.resolve(context)
        doctor = column.doctor_day.doctor
        key = _key(
            "column",
            context,
            self.number,
            _card_template_digest(context),
            column.number,
            column.day,
            doctor.pk,
            str(doctor),
            bool(self.can_book.resolve(context)),
            column.in_time_order,
        )
        html = CARDS.get(key)
        if html is None:
            html = self.nodelist.render(context)
            CARDS.set(key, str(html))
        return mark_safe(html)


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
