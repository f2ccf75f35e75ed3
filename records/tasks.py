from celery import shared_task

from records import services


@shared_task
def withdraw_ended_care_relationships() -> int:
    return services.withdraw_ended_care_relationships()
