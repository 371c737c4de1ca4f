"""Admin URLs of the reports (registered by ``wagtail_hooks``)."""

from django.urls import path

from .reports import SegmentsReportView, VariantsReportView

app_name = "wagtail_segments_reports"

urlpatterns = [
    path("segments/", SegmentsReportView.as_view(), name="segments"),
    path(
        "segments/results/", SegmentsReportView.as_view(results_only=True), name="segments_results"
    ),
    path("variants/", VariantsReportView.as_view(), name="variants"),
    path(
        "variants/results/", VariantsReportView.as_view(results_only=True), name="variants_results"
    ),
]
