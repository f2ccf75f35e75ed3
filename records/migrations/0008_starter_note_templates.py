"""Starter note templates for the five note types; administrators change them in Django admin."""

from django.db import migrations

ESCALATION = [
    "For full escalation including critical care",
    "Ward-based care as the ceiling of treatment",
    "Not for CPR (DNACPR); otherwise full ward care",
    "End-of-life care: comfort measures",
]


def _f(key, label, kind="textarea", required=False, choices=None, help=""):
    field = {"key": key, "label": label, "kind": kind, "required": required, "help": help}
    if choices:
        field["choices"] = choices
    return field


STARTER_TEMPLATES = [
    {
        "name": "Admission clerking",
        "note_type": "admission-clerking",
        "description": "The admitting doctor's history, examination, impression and plan",
        "writer_roles": ["doctor"],
        "countersign_roles": [],
        "fields": [
            _f("presenting_complaint", "Presenting complaint", "text", required=True),
            _f("history", "History of presenting complaint", required=True),
            _f("past_medical_history", "Past medical and surgical history"),
            _f("medicines", "Medicines before admission"),
            _f("allergies_checked", "Allergies checked with the patient", "yes_no", required=True),
            _f("social_history", "Social and functional history"),
            _f("examination", "Examination", required=True),
            _f("impression", "Impression and differential diagnosis", required=True),
            _f("plan", "Plan", required=True),
            _f("escalation", "Escalation status / TEP", "choice", required=True, choices=ESCALATION),
        ],
    },
    {
        "name": "Ward round",
        "note_type": "ward-round",
        "description": "Daily review: subjective, examination, impression, plan",
        "writer_roles": [],
        "countersign_roles": ["hca"],
        "fields": [
            _f("senior", "Senior reviewing", "text", help="Name and grade of the senior leading the round"),
            _f("subjective", "Subjective"),
            _f("examination", "Examination"),
            _f("impression", "Impression", required=True),
            _f("plan", "Plan", required=True),
            _f("escalation", "Escalation status / TEP", "choice", required=True, choices=ESCALATION),
        ],
    },
    {
        "name": "Nursing note",
        "note_type": "nursing",
        "description": "Care given, observations, pressure areas, eating and drinking, concerns",
        "writer_roles": ["nurse", "hca"],
        "countersign_roles": ["hca"],
        "fields": [
            _f("observations_reviewed", "NEWS2 observations reviewed", "yes_no"),
            _f("pain_score", "Pain score (0-10)", "number"),
            _f(
                "pressure_areas",
                "Pressure areas",
                "choice",
                choices=["Intact", "Red but blanching", "Broken or non-blanching: see wound chart"],
            ),
            _f("nutrition", "Eating and drinking"),
            _f("mobility", "Mobility and falls risk"),
            _f("summary", "Care given and concerns", required=True),
        ],
    },
    {
        "name": "MDT meeting",
        "note_type": "mdt",
        "description": "Multidisciplinary team discussion, outcome and actions",
        "writer_roles": [],
        "countersign_roles": ["hca"],
        "fields": [
            _f("meeting_date", "Date of the meeting", "date", required=True),
            _f("present", "Who was present", required=True, help="Names and roles"),
            _f("discussion", "Discussion", required=True),
            _f("outcome", "Outcome and actions", required=True, help="Who will do what, by when"),
            _f("patient_informed", "Patient or family told of the outcome", "yes_no"),
        ],
    },
    {
        "name": "Discharge summary",
        "note_type": "discharge",
        "description": "Diagnosis, summary of the stay, medicine changes and follow-up for the GP",
        "writer_roles": ["doctor"],
        "countersign_roles": [],
        "fields": [
            _f("diagnosis", "Primary diagnosis", "text", required=True),
            _f("summary", "Summary of the admission", required=True),
            _f("procedures", "Procedures and investigations"),
            _f("medicine_changes", "Medicines started, stopped or changed, and why", required=True),
            _f("follow_up", "Follow-up arranged", required=True),
            _f("gp_actions", "Actions for the GP"),
            _f(
                "destination",
                "Discharge destination",
                "choice",
                choices=["Usual place of residence", "Care home", "Another hospital", "Hospice", "Other"],
            ),
        ],
    },
]


def seed(apps, schema_editor):
    NoteTemplate = apps.get_model("records", "NoteTemplate")
    for template in STARTER_TEMPLATES:
        NoteTemplate.objects.get_or_create(name=template["name"], defaults=template)


def unseed(apps, schema_editor):
    NoteTemplate = apps.get_model("records", "NoteTemplate")
    NoteTemplate.objects.filter(name__in=[t["name"] for t in STARTER_TEMPLATES], notes__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("records", "0007_clinical_notes")]

    operations = [migrations.RunPython(seed, unseed)]
