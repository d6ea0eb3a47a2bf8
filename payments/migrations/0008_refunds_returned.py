"""A refund now means money returned, nothing more owed (DESIGN.md section 5):
before, every refund made the balance grow back as if the patient owed it again.
Every refund recorded so far takes the new default (not owed again), and each
invoice with refunds gets the amount they credit and its status derived again, by
the rule `refresh_totals` follows (a frozen copy: migrations never import the app's
code). An invoice whose refund was paid again since (the desk took the "balance")
keeps a balance of zero: a refund only lowers what is owed down to nothing.
"""

from decimal import Decimal

from django.db import migrations
from django.db.models import Sum

ZERO = Decimal("0.00")
TAKES_MONEY = ("needs_response", "under_review", "lost")


def _status(invoice, net_paid, balance):
    if invoice.voided_at is not None:
        return "void"
    if invoice.amount_disputed > 0:
        return "disputed"
    if balance > 0:
        return "open"
    if invoice.amount_credited > 0:
        return "partially_refunded" if net_paid > 0 else "refunded"
    return "paid"


def credit_refunds(apps, schema_editor):
    Invoice = apps.get_model("payments", "Invoice")
    Refund = apps.get_model("payments", "Refund")
    refunded = Invoice.objects.filter(amount_refunded__gt=0).order_by("pk")
    for invoice in refunded.iterator(chunk_size=500):
        refunds = Refund.objects.filter(payment__invoice=invoice, owed_again=False)
        not_owed_again = refunds.aggregate(total=Sum("amount"))["total"] or ZERO
        net_paid = invoice.amount_paid - invoice.amount_refunded - invoice.amount_disputed
        owed_without = invoice.total - net_paid
        invoice.amount_credited = max(min(not_owed_again, owed_without, invoice.total), ZERO)
        balance = ZERO if invoice.voided_at else owed_without - invoice.amount_credited
        invoice.status = _status(invoice, net_paid, balance)
        invoice.save(update_fields=["amount_credited", "status"])


def owed_again(apps, schema_editor):
    """Backwards: the old meaning, every refund owed again."""
    Invoice = apps.get_model("payments", "Invoice")
    for invoice in Invoice.objects.filter(amount_credited__gt=0).iterator(chunk_size=500):
        net_paid = invoice.amount_paid - invoice.amount_refunded - invoice.amount_disputed
        if invoice.voided_at is not None:
            status = "void"
        elif invoice.amount_disputed > 0:
            status = "disputed"
        elif invoice.amount_refunded > 0:
            status = "partially_refunded" if net_paid > 0 else "refunded"
        else:
            status = "paid" if net_paid >= invoice.total else "open"
        invoice.amount_credited = ZERO
        invoice.status = status
        invoice.save(update_fields=["amount_credited", "status"])


class Migration(migrations.Migration):
    dependencies = [("payments", "0007_adjustment_permissions")]

    operations = [migrations.RunPython(credit_refunds, owed_again)]
