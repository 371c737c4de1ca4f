"""Public URLs: ``path("personalisation/", include("wagtail_segments.urls"))``."""

from django.urls import path

from . import views

app_name = "wagtail_segments"

urlpatterns = [
    path("event/", views.track_event_view, name="event"),
    path("beacon/", views.beacon_view, name="beacon"),
    path("erase/", views.erase_profile_view, name="erase"),
    path("segments/", views.segments_view, name="segments"),
    path("fragments/", views.fragments_view, name="fragments"),
    path("view-as/", views.view_as_view, name="view_as"),
]
