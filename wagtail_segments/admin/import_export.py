"""Admin views: segments as JSON (export, import) and the member lists of manual segments."""

import json

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext_lazy as _
from django.views.generic import FormView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from .. import permissions
from ..import_export import (
    ImportProblems,
    export_definitions,
    export_members,
    import_definitions,
    import_members,
    read_document,
)
from ..models import Segment

MAX_UPLOAD_BYTES = 5 * 1024 * 1024


def _require(request, action):
    if not permissions.segments.user_has_permission(request.user, action):
        raise PermissionDenied


def export_segments_view(request):
    _require(request, "view")
    data = export_definitions(Segment.objects.order_by("-priority", "name"))
    response = HttpResponse(
        json.dumps(data, indent=2, ensure_ascii=False, default=str),
        content_type="application/json",
    )
    response["Content-Disposition"] = 'attachment; filename="segments.json"'
    return response


class UploadForm(forms.Form):
    file = forms.FileField(label=_("File"))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("The file is over 5 MB."))
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError(_("The file is not UTF-8 text.")) from None


class ImportView(WagtailAdminTemplateMixin, FormView):
    template_name = "wagtail_segments/import.html"
    form_class = UploadForm
    header_icon = "upload"

    def dispatch(self, request, *args, **kwargs):
        _require(request, "add")
        _require(request, "change")
        return super().dispatch(request, *args, **kwargs)

    def get_breadcrumbs_items(self):
        return [*self.breadcrumbs_items, {"url": "", "label": self.get_page_title()}]

    def form_valid(self, form):
        try:
            message = self.apply(form.cleaned_data["file"])
        except ImportProblems as problems:
            return self.render_to_response(
                self.get_context_data(form=form, problems=problems.problems)
            )
        messages.success(self.request, message)
        return redirect("wagtail_segments_segments:list")


class ImportSegmentsView(ImportView):
    page_title = _("Import segments")
    help_text = _(
        "A JSON file exported from this or another site. Segments and interests with the "
        "same slug are updated, others created. Nothing is written unless all of it is valid."
    )

    def apply(self, text):
        created, updated = import_definitions(read_document(text))
        return _("%(created)s segments created, %(updated)s updated.") % {
            "created": created,
            "updated": updated,
        }


class ImportMembersView(ImportView):
    help_text = _(
        "A CSV file with one column: usernames, email addresses or visitor ids (a second "
        "column, kind, may say “user” or “visitor”, as in an export). "
        "It replaces the segment's list; nothing changes unless every line is valid."
    )

    def dispatch(self, request, *args, **kwargs):
        self.segment = get_object_or_404(Segment, pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_page_title(self):
        return _("Import members of “%(segment)s”") % {"segment": self.segment.name}

    def apply(self, text):
        count = import_members(self.segment, text)
        return _("“%(segment)s” now lists %(count)s members.") % {
            "segment": self.segment.name,
            "count": count,
        }


def export_members_view(request, pk):
    _require(request, "view")
    segment = get_object_or_404(Segment, pk=pk)
    response = HttpResponse(export_members(segment), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{segment.slug}-members.csv"'
    return response
