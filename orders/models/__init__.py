"""The orders app's data, by feature: the catalogue of what can be ordered, the orders themselves with
their specimens and outbound messages, and the results that come back."""

from orders.models.results import AckAction, Filing, InboundMessage, ResultObservation, ResultReport

__all__ = ["AckAction", "Filing", "InboundMessage", "ResultObservation", "ResultReport"]
