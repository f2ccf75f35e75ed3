"""The staff admin: one described action per role, each setting the role through user_set_role (which
keeps the role group in step), and the role fields after Django's own fieldsets."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.test import RequestFactory

from epr.accounts.admin import ApiClientAdmin, StaffAdmin
from epr.accounts.models import ApiClient, User
from epr.accounts.roles import Role
from tests.factories import UserFactory


def test_the_admin_classes_are_registered():
    assert isinstance(admin.site._registry[User], StaffAdmin)
    assert isinstance(admin.site._registry[ApiClient], ApiClientAdmin)


def test_one_described_action_per_role():
    actions = {action.__name__: action.short_description for action in StaffAdmin.actions}
    assert actions == {f"set_role_{role.value}": f"Set role: {role.label}" for role in Role}


def test_the_role_fieldset_follows_the_user_admin_fieldsets():
    assert StaffAdmin.fieldsets[:-1] == UserAdmin.fieldsets
    assert StaffAdmin.fieldsets[-1] == ("Role", {"fields": ("role", "grade", "professional_registration")})


def test_a_role_action_sets_the_role_and_its_group(db):
    user = UserFactory(role=Role.NURSE)
    action = next(a for a in StaffAdmin.actions if a.__name__ == "set_role_doctor")
    action(admin.site._registry[User], RequestFactory().post("/"), User.objects.filter(pk=user.pk))
    user.refresh_from_db()
    assert user.role == Role.DOCTOR
    assert list(user.groups.values_list("name", flat=True)) == ["role:doctor"]
