"""Discounts and write-offs (InvoiceAdjustment) with the manager's limits
(BillingLimits), the invoice's amounts they and the refunds not owed again derive,
and whether a refund is owed again.

Adjustments are an audit: on PostgreSQL a trigger refuses every UPDATE and DELETE
of their rows, as records' access log does (and for the same reasons leaves
TRUNCATE and SQLite alone); a mistake is undone by a reversal row.
"""

from decimal import Decimal

import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from clinic.kernel.db import RunSQLOnPostgreSQL

APPEND_ONLY = """
CREATE FUNCTION payments_invoiceadjustment_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'payments_invoiceadjustment is append-only: % refused', TG_OP
        USING HINT = 'A discount or write-off is never changed; reverse it.';
END;
$$;

CREATE TRIGGER payments_invoiceadjustment_append_only
    BEFORE UPDATE OR DELETE ON payments_invoiceadjustment
    FOR EACH ROW EXECUTE FUNCTION payments_invoiceadjustment_append_only();
"""

DROP_APPEND_ONLY = """
DROP TRIGGER IF EXISTS payments_invoiceadjustment_append_only ON payments_invoiceadjustment;
DROP FUNCTION IF EXISTS payments_invoiceadjustment_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0005_dispute_permissions"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="BillingLimits",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "reception_max_discount_percent",
                    models.DecimalField(
                        decimal_places=2,
                        default=Decimal("10.00"),
                        help_text="Of an invoice's services, all its discounts together. 0 for none.",
                        max_digits=5,
                        validators=[
                            django.core.validators.MinValueValidator(Decimal("0.00")),
                            django.core.validators.MaxValueValidator(Decimal("100")),
                        ],
                        verbose_name="most reception may discount (%)",
                    ),
                ),
                (
                    "reception_max_write_off",
                    models.DecimalField(
                        decimal_places=2,
                        default=Decimal("0.00"),
                        help_text="Of one invoice, all its write-offs together, in the clinic's currency. 0: only managers write off.",
                        max_digits=12,
                        validators=[django.core.validators.MinValueValidator(Decimal("0.00"))],
                        verbose_name="most reception may write off",
                    ),
                ),
                ("updated_at", models.DateTimeField(auto_now=True, verbose_name="changed at")),
            ],
            options={
                "verbose_name": "discount and write-off limits",
                "verbose_name_plural": "discount and write-off limits",
            },
        ),
        migrations.CreateModel(
            name="InvoiceAdjustment",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[("discount", "Discount"), ("write_off", "Write-off")],
                        max_length=20,
                        verbose_name="kind",
                    ),
                ),
                (
                    "amount",
                    models.DecimalField(
                        decimal_places=2,
                        max_digits=12,
                        validators=[django.core.validators.MinValueValidator(Decimal("0.01"))],
                        verbose_name="amount",
                    ),
                ),
                (
                    "percent",
                    models.DecimalField(
                        blank=True,
                        decimal_places=2,
                        max_digits=5,
                        null=True,
                        verbose_name="percentage",
                    ),
                ),
                ("reason", models.CharField(max_length=300, verbose_name="reason")),
                ("idempotency_key", models.CharField(blank=True, max_length=100)),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="made at")),
            ],
            options={
                "verbose_name": "discount or write-off",
                "verbose_name_plural": "discounts and write-offs",
                "ordering": ["created_at", "pk"],
                "permissions": [
                    ("adjust_beyond_limits", "Can discount and write off beyond reception's limits")
                ],
            },
        ),
        migrations.AddField(
            model_name="invoice",
            name="amount_credited",
            field=models.DecimalField(
                decimal_places=2,
                default=Decimal("0.00"),
                help_text="The refunds that lowered what the patient owes (money returned).",
                max_digits=12,
                verbose_name="refunded, not owed again",
            ),
        ),
        migrations.AddField(
            model_name="invoice",
            name="amount_discounted",
            field=models.DecimalField(
                decimal_places=2,
                default=Decimal("0.00"),
                help_text="Taken off the lines' sum by discounts.",
                max_digits=12,
                verbose_name="amount discounted",
            ),
        ),
        migrations.AddField(
            model_name="invoice",
            name="amount_written_off",
            field=models.DecimalField(
                decimal_places=2,
                default=Decimal("0.00"),
                help_text="What the clinic will not collect: settled without money.",
                max_digits=12,
                verbose_name="amount written off",
            ),
        ),
        migrations.AddField(
            model_name="refund",
            name="owed_again",
            field=models.BooleanField(
                default=False,
                help_text="Refund and re-bill: the amount is owed again. Otherwise (the default, and every refund made in Stripe) the money is returned and nothing more is owed.",
                verbose_name="owed again",
            ),
        ),
        migrations.AlterField(
            model_name="invoice",
            name="status",
            field=models.CharField(
                choices=[
                    ("open", "Open"),
                    ("paid", "Paid"),
                    ("void", "Void"),
                    ("partially_refunded", "Partially refunded"),
                    ("refunded", "Refunded"),
                    ("disputed", "Disputed"),
                    ("written_off", "Written off"),
                ],
                default="open",
                max_length=20,
            ),
        ),
        migrations.AddIndex(
            model_name="invoice",
            index=models.Index(fields=["issued_at"], name="invoice_issued"),
        ),
        migrations.AddConstraint(
            model_name="invoice",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("amount_discounted__gte", 0),
                    ("amount_written_off__gte", 0),
                    ("amount_credited__gte", 0),
                    ("amount_credited__lte", models.F("amount_refunded")),
                ),
                name="invoice_adjustments_consistent",
            ),
        ),
        migrations.AddConstraint(
            model_name="billinglimits",
            constraint=models.CheckConstraint(
                condition=models.Q(("pk", 1)), name="billing_limits_one_row"
            ),
        ),
        migrations.AddConstraint(
            model_name="billinglimits",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("reception_max_discount_percent__gte", 0),
                    ("reception_max_discount_percent__lte", 100),
                    ("reception_max_write_off__gte", 0),
                ),
                name="billing_limits_in_range",
            ),
        ),
        migrations.AddField(
            model_name="invoiceadjustment",
            name="created_by",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="made by",
            ),
        ),
        migrations.AddField(
            model_name="invoiceadjustment",
            name="invoice",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="adjustments",
                to="payments.invoice",
                verbose_name="invoice",
            ),
        ),
        migrations.AddField(
            model_name="invoiceadjustment",
            name="reverses",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="reversals",
                to="payments.invoiceadjustment",
                verbose_name="reverses",
            ),
        ),
        migrations.AddConstraint(
            model_name="invoiceadjustment",
            constraint=models.CheckConstraint(
                condition=models.Q(("amount__gt", 0)), name="adjustment_amount_positive"
            ),
        ),
        migrations.AddConstraint(
            model_name="invoiceadjustment",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("percent__isnull", True),
                    models.Q(("percent__gt", 0), ("percent__lte", 100)),
                    _connector="OR",
                ),
                name="adjustment_percent_range",
            ),
        ),
        migrations.AddConstraint(
            model_name="invoiceadjustment",
            constraint=models.CheckConstraint(
                condition=models.Q(("reason", ""), _negated=True), name="adjustment_has_reason"
            ),
        ),
        migrations.AddConstraint(
            model_name="invoiceadjustment",
            constraint=models.CheckConstraint(
                condition=models.Q(("kind__in", ["discount", "write_off"])),
                name="adjustment_kind_known",
            ),
        ),
        migrations.AddConstraint(
            model_name="invoiceadjustment",
            constraint=models.UniqueConstraint(
                condition=models.Q(("reverses__isnull", False)),
                fields=("reverses",),
                name="adjustment_reversed_once",
            ),
        ),
        migrations.AddConstraint(
            model_name="invoiceadjustment",
            constraint=models.UniqueConstraint(
                condition=models.Q(("idempotency_key", ""), _negated=True),
                fields=("idempotency_key",),
                name="adjustment_idempotency_key_unique",
            ),
        ),
        RunSQLOnPostgreSQL(APPEND_ONLY, reverse_sql=DROP_APPEND_ONLY),
    ]
