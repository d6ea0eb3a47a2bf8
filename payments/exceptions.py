from clinic.kernel.errors import DomainError


class PaymentError(DomainError):
    """A payment, refund or invoice change the rules do not allow."""

    code = "payment"


class ProviderUnavailable(PaymentError):
    """The payment provider could not be reached or refused the call; try again."""

    code = "provider_unavailable"
