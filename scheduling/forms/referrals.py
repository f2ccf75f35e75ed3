"""Forms of the referral and waiting-list pages: registering or correcting a referral, its triage, an
attachment, the next event of an RTT clock and closing a referral. The services decide what is
refused; the forms lay the fields out and give the services' refusals back to their fields."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from django import forms
from django.utils import timezone

from epr.forms import DateInput, NHSFormMixin
from records.models import Specialty, Team
from scheduling.models import ReferralPriority, ReferralSource, SlotType, WaitingKind
from scheduling.rules.rtt import StartReason
from scheduling.services.referrals import MAX_ATTACHMENT_BYTES, Outcome, ReferralDetails, Triage
from scheduling.services.waiting import DECISION_TO_ADMIT, START, START_LABELS, STOP, STOP_LABELS


class ReferralForm(NHSFormMixin, forms.Form):
    """Register a referral (with its specialty and team) or correct one (without them)."""

    source = forms.ChoiceField(label="Referred by", choices=ReferralSource.choices, widget=forms.RadioSelect)
    electronic = forms.BooleanField(
        label="Electronic (e-Referral Service or other)", required=False, initial=True
    )
    ubrn = forms.CharField(
        label="e-RS booking reference (UBRN)", max_length=14, required=False, help_text="12 digits"
    )
    referrer_name = forms.CharField(label="Referrer's name", max_length=150)
    referrer_organisation = forms.CharField(
        label="Referrer's organisation (ODS code)", max_length=10, required=False
    )
    specialty = forms.ChoiceField(label="Specialty", choices=[("", "Choose a specialty"), *Specialty.choices])
    team = forms.ChoiceField(label="Receiving team", choices=())
    service = forms.CharField(label="Service or clinic referred to", max_length=150)
    priority = forms.ChoiceField(label="Priority", choices=ReferralPriority.choices, widget=forms.RadioSelect)
    reason = forms.CharField(label="Reason for referral", widget=forms.Textarea(attrs={"rows": 4}))
    received_on = forms.DateField(
        label="Date received", widget=DateInput, help_text="The RTT clock starts on this day"
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(
        self,
        *args: Any,
        teams: Iterable[Team] = (),
        editing: bool = False,
        outgoing: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["specialty"], self.fields["team"]
        else:
            team_field = cast(forms.ChoiceField, self.fields["team"])
            team_field.choices = [("", "Choose a team"), *((str(t.pk), t.name) for t in teams)]
            self.fields["team"].required = not outgoing
            if outgoing:
                self.fields["team"].label = "Your team (optional)"
        if not self.is_bound and not editing:
            self.fields["received_on"].initial = timezone.localdate()
            self.fields["priority"].initial = ReferralPriority.ROUTINE

    def details(self, specialty: str = "") -> ReferralDetails:
        data = self.cleaned_data
        return ReferralDetails(
            source=data["source"],
            electronic=data["electronic"],
            ubrn=data["ubrn"],
            referrer_name=data["referrer_name"],
            referrer_organisation=data["referrer_organisation"],
            specialty=data.get("specialty") or specialty,
            service=data["service"],
            priority=data["priority"],
            reason=data["reason"],
            received_on=data["received_on"],
        )


class TriageForm(NHSFormMixin, forms.Form):
    outcome = forms.ChoiceField(label="Outcome", choices=Outcome.CHOICES, widget=forms.RadioSelect)
    waiting_kind = forms.ChoiceField(
        label="Waiting for (if accepted)", choices=[("", "Choose"), *WaitingKind.choices], required=False
    )
    clinic_type = forms.ChoiceField(
        label="Clinic appointment type (for an outpatient appointment)",
        choices=[("", "Choose"), *SlotType.choices],
        required=False,
    )
    procedure = forms.CharField(label="Procedure (for an admission)", max_length=300, required=False)
    redirect_to = forms.CharField(
        label="Service to redirect to (if redirected)", max_length=150, required=False
    )
    reason = forms.CharField(
        label="Reason for the referrer (redirect or reject)",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
    )
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("waiting_kind", "clinic_type", "procedure", "redirect_to", "reason"):
            # Needed for one outcome or another, as each label says: not "(optional)".
            self.fields[name].show_optional = False  # type: ignore[attr-defined]

    def triage(self) -> Triage:
        data = self.cleaned_data
        return Triage(
            outcome=data["outcome"],
            waiting_kind=data["waiting_kind"],
            clinic_type=data["clinic_type"],
            procedure=data["procedure"],
            redirect_to=data["redirect_to"],
            reason=data["reason"],
        )


class AttachmentForm(NHSFormMixin, forms.Form):
    file = forms.FileField(
        label="Attach a file",
        help_text=f"PDF, JPEG, PNG, TIFF or Word, up to {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB",
        # The service reads the whole file and checks its size; the browser hint only helps.
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png,.tif,.tiff,.doc,.docx"}),
    )


EVENT_CHOICES = [
    (STOP, "Clock stop"),
    (DECISION_TO_ADMIT, "Decision to admit"),
    (START, "New clock start"),
]


class ClockEventForm(NHSFormMixin, forms.Form):
    kind = forms.ChoiceField(label="What happened", choices=EVENT_CHOICES, widget=forms.RadioSelect)
    on = forms.DateField(label="Date", widget=DateInput)
    stop_reason = forms.ChoiceField(
        label="Why the clock stops (for a clock stop)",
        choices=[("", "Choose"), *STOP_LABELS.items()],
        required=False,
    )
    start_reason = forms.ChoiceField(
        label="Why a new clock starts (for a new clock start)",
        choices=[("", "Choose"), *((k, v) for k, v in START_LABELS.items() if k != StartReason.REFERRAL)],
        required=False,
    )
    note = forms.CharField(label="Note", max_length=300, required=False)
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("stop_reason", "start_reason"):
            self.fields[name].show_optional = False  # type: ignore[attr-defined]

    def reason(self) -> str:
        data = self.cleaned_data
        if data["kind"] == STOP:
            return str(data["stop_reason"])
        if data["kind"] == START:
            return str(data["start_reason"])
        return ""


class CloseForm(NHSFormMixin, forms.Form):
    reason = forms.CharField(label="Why the referral is closed", max_length=300)
    version = forms.IntegerField(widget=forms.HiddenInput)
