"""Care plans: goals and interventions, reviews, a patient-readable PDF, overdue reviews for the team."""

import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from records import services
from records.errors import RecordError, StaleEdit
from records.models import CarePlan
from tests.support import login


@pytest.fixture
def plan(admitted, nurse, team):
    return services.careplan_create(
        created_by=nurse,
        patient=admitted.patient,
        need="Risk of falls",
        goals="No falls\nWalks with frame",
        interventions="Falls sensor at night\nPhysio review",
        responsible=nurse,
        team=team,
        review_date=timezone.localdate() + timedelta(days=3),
    )


def test_create_needs_goals_and_a_future_review(admitted, nurse):
    with pytest.raises(RecordError, match="at least one goal"):
        services.careplan_create(
            created_by=nurse,
            patient=admitted.patient,
            need="Pain",
            goals=" ",
            interventions="Analgesia",
            responsible=nurse,
            review_date=timezone.localdate(),
        )
    with pytest.raises(RecordError, match="today or later"):
        services.careplan_create(
            created_by=nurse,
            patient=admitted.patient,
            need="Pain",
            goals="Pain < 3",
            interventions="Analgesia",
            responsible=nurse,
            review_date=timezone.localdate() - timedelta(days=1),
        )
    assert not CarePlan.objects.exists()


def test_update_is_versioned(plan, nurse, doctor):
    services.careplan_update(updated_by=doctor, plan=plan, expected_version=1, changes={"goals": "No falls"})
    with pytest.raises(StaleEdit):
        services.careplan_update(updated_by=nurse, plan=plan, expected_version=1, changes={"goals": "Other"})
    assert plan.history.count() == 2


def test_review_moves_the_date_or_completes(plan, nurse):
    next_date = timezone.localdate() + timedelta(days=7)
    services.careplan_review(
        reviewed_by=nurse, plan=plan, outcome="No falls this week", next_review_date=next_date
    )
    plan.refresh_from_db()
    assert plan.review_date == next_date
    services.careplan_review(
        reviewed_by=nurse, plan=plan, outcome="Goals met", next_review_date=None, complete=True
    )
    plan.refresh_from_db()
    assert plan.status == "completed"
    assert plan.reviews.count() == 2


def test_overdue_reviews_are_listed_for_the_team_and_ward(client, plan, nurse, doctor, outsider):
    CarePlan.objects.filter(pk=plan.pk).update(review_date=timezone.localdate() - timedelta(days=2))
    assert b"Risk of falls" in login(client, nurse).get(reverse("records:careplans_overdue")).content
    assert (
        b"Risk of falls" in login(client, doctor).get(reverse("records:careplans_overdue")).content
    )  # treating team
    assert b"Risk of falls" not in login(client, outsider).get(reverse("records:careplans_overdue")).content


def test_patient_copy_is_a_real_pdf_the_patient_can_read(client, plan, nurse):

    response = login(client, nurse).get(reverse("records:careplan_pdf", args=[plan.patient_id, plan.pk]))
    assert response["Content-Type"] == "application/pdf"
    text = PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert "Your care plan: Risk of falls" in text
    assert "Falls sensor at night" in text
    assert "Page 1 of 1" in text


@pytest.mark.parametrize(("who", "status"), [("nurse", 302), ("hca", 403), ("outsider", 403), ("clerk", 403)])
def test_who_may_create_care_plans(client, admitted, nurse, colleague, outsider, clerk, who, status):
    user = {"nurse": nurse, "hca": colleague, "outsider": outsider, "clerk": clerk}[who]
    response = login(client, user).post(
        reverse("records:careplan_new", args=[admitted.patient_id]),
        {
            "need": "Nutrition",
            "goals": "Eats 75% of meals",
            "interventions": "Food chart",
            "responsible": nurse.pk,
            "review_date": (timezone.localdate() + timedelta(days=2)).isoformat(),
        },
    )
    assert response.status_code == status
    assert CarePlan.objects.count() == (1 if status == 302 else 0)


def test_mark_a_care_plan_entered_in_error_through_the_page(client, plan, nurse):
    response = login(client, nurse).post(
        reverse("records:careplan_error", args=[plan.patient_id, plan.pk]),
        {"reason": "Wrong patient", "version": plan.version},
    )
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.status == "entered-in-error"
    assert plan.history.count() == 2


def test_care_plan_pages_keep_queries_flat(client, admitted, nurse, team, django_assert_max_num_queries):
    def add_plans(count):
        for i in range(count):
            plan = services.careplan_create(
                created_by=nurse,
                patient=admitted.patient,
                need=f"Need {i}",
                goals="Goal",
                interventions="Do it",
                responsible=nurse,
                team=team,
                review_date=timezone.localdate() + timedelta(days=1),
            )
            CarePlan.objects.filter(pk=plan.pk).update(review_date=timezone.localdate() - timedelta(days=1))

    login(client, nurse)
    add_plans(2)
    for name, args in (("careplan_list", [admitted.patient_id]), ("careplans_overdue", [])):
        with django_assert_max_num_queries(20):  # 18, plus the clinical banner (CPR status, scale, weight)
            client.get(reverse(f"records:{name}", args=args))
    add_plans(20)
    for name, args in (("careplan_list", [admitted.patient_id]), ("careplans_overdue", [])):
        with django_assert_max_num_queries(20):  # 18, plus the clinical banner (CPR status, scale, weight)
            assert client.get(reverse(f"records:{name}", args=args)).status_code == 200


def test_a_plan_changed_since_the_page_was_opened_is_not_struck_out_blind(client, plan, nurse, doctor):
    seen = plan.version
    services.careplan_update(
        updated_by=doctor, plan=plan, expected_version=seen, changes={"goals": "New goal"}
    )
    login(client, nurse).post(
        reverse("records:careplan_error", args=[plan.patient_id, plan.pk]),
        {"reason": "Wrong patient", "version": seen},
    )
    plan.refresh_from_db()
    assert plan.status == "active"
    with pytest.raises(StaleEdit):
        services.careplan_review(
            reviewed_by=nurse,
            plan=plan,
            outcome="Fine",
            next_review_date=None,
            complete=True,
            expected_version=seen,
        )
