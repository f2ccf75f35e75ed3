"""The orders app's data, by feature: the catalogue of what can be ordered, the orders themselves with
their specimens and outbound messages, and the results that come back."""

from orders.models.catalogue import (
    AnswerType,
    Contrast,
    Department,
    OrderableTest,
    OrderSet,
    OrderSetItem,
    QuestionApplies,
    TestQuestion,
)
from orders.models.requests import (
    OUTSTANDING,
    Order,
    OrderStatus,
    OrderWarning,
    OutboundMessage,
    Priority,
    SendState,
    Specimen,
)
from orders.models.results import AckAction, Filing, InboundMessage, ResultObservation, ResultReport

__all__ = [
    "OUTSTANDING",
    "AckAction",
    "AnswerType",
    "Contrast",
    "Department",
    "Filing",
    "InboundMessage",
    "Order",
    "OrderSet",
    "OrderSetItem",
    "OrderStatus",
    "OrderWarning",
    "OrderableTest",
    "OutboundMessage",
    "Priority",
    "QuestionApplies",
    "ResultObservation",
    "ResultReport",
    "SendState",
    "Specimen",
    "TestQuestion",
]
