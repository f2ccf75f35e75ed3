from django.contrib.auth import views as auth_views
from django.urls import path

from epr.accounts import views

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("second-factor/", views.second_factor, name="second_factor"),
    path("keepalive/", views.session_keepalive, name="session_keepalive"),
]
