"""Note templates: the manager's ready-made SOAP text for a kind of visit, which a
doctor picks to start an empty note."""

from __future__ import annotations

from django.db import models
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from scheduling.models import Service

SOAP_FIELDS = ("subjective", "objective", "assessment", "plan")


class NoteTemplateQuerySet(models.QuerySet["NoteTemplate"]):
    def for_service(self, service: Service | None) -> QuerySet[NoteTemplate]:
        """The active templates a doctor may pick in a visit for `service`: the
        general ones and those of that service."""
        offered = Q(service__isnull=True)
        if service is not None:
            offered |= Q(service=service)
        return self.filter(offered, is_active=True)


class NoteTemplate(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    service = models.ForeignKey(
        Service,
        verbose_name=_("service"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Offered only in visits for this service; leave empty for every visit."),
    )
    subjective = models.TextField(_("subjective"), blank=True)
    objective = models.TextField(_("objective"), blank=True)
    assessment = models.TextField(_("assessment"), blank=True)
    plan = models.TextField(_("plan"), blank=True)
    is_active = models.BooleanField(
        _("active"), default=True, help_text=_("Inactive templates are not offered.")
    )

    objects = NoteTemplateQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("note template")
        verbose_name_plural = _("note templates")
        constraints = [
            models.CheckConstraint(
                condition=~Q(subjective="", objective="", assessment="", plan=""),
                name="notetemplate_not_empty",
                violation_error_message=_("Write at least one part of the note."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def soap(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in SOAP_FIELDS}
