class RecordError(Exception):
    """A business rule refused the change; the message is for the user. The one refusal type: a form
    shows it with records.views.base.refusal_on_form, the FHIR API with records.fhir.common.refusal."""

    # True when the refusal is of values as given (implausible, missing) rather than of the change.
    about_values = False

    def __init__(
        self, message: str, *, field: str | None = None, errors: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.errors = errors or ({field: message} if field else {})  # every field that was refused


class StaleEdit(RecordError):
    def __init__(self) -> None:
        super().__init__(
            "Someone else changed this record after you opened it. Your changes were not saved: "
            "reload the page to see the current details, then make your change again."
        )


class NoRelationship(Exception):
    """The user has no care relationship (nor break-glass) with the patient."""

    def __init__(self, patient) -> None:
        super().__init__("No care relationship with this patient")
        self.patient = patient


class AlreadySubmitted(RecordError):
    """The same form was posted again (a double click, a resend): the first post's result stands."""

    def __init__(self, first) -> None:
        super().__init__("This was already saved; it was not saved twice.")
        self.first = first
