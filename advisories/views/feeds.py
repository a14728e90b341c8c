"""The feed status page (staff) and what MSP admins do there: sync now, add or edit a source."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views import View

from advisories import feed_control
from advisories.access import MspView, msp_can
from advisories.forms import FeedSourceForm
from advisories.models import FeedRun, FeedSource
from portal.views import htmx_redirect

__all__ = ["FeedSourceEditView", "FeedStatusView", "FeedSyncView"]

RECENT_RUNS = 5
MANUAL_RUNS = 10


class FeedStatusView(MspView, View):
    msp_capability = "feed.view"

    def get(self, request):
        recent = FeedRun.objects.order_by("-started_at", "-id")[:RECENT_RUNS]
        sources = FeedSource.objects.order_by("kind", "name").prefetch_related(
            Prefetch("runs", queryset=recent, to_attr="recent_runs")
        )
        context = {
            "sources": sources,
            "manual_runs": FeedRun.objects.filter(source__isnull=True).order_by("-started_at")[:MANUAL_RUNS],
            "can_manage": msp_can(request.access, "feed.manage"),
        }
        return render(request, "advisories/feed_status.html", context)


class FeedSyncView(MspView, View):
    msp_capability = "feed.manage"

    def post(self, request, pk):
        source = get_object_or_404(FeedSource, pk=pk)
        feed_control.request_sync(source)
        messages.success(request, f"Sync of {source.name} queued; its run appears below when the worker starts it.")
        return htmx_redirect(request, reverse("feed_status"))


class FeedSourceEditView(MspView, View):
    """Add a source (no pk) or edit one."""

    msp_capability = "feed.manage"
    template_name = "advisories/feed_source_form.html"

    def _source(self, pk):
        return get_object_or_404(FeedSource, pk=pk) if pk is not None else None

    def get(self, request, pk=None):
        source = self._source(pk)
        return render(request, self.template_name, {"form": FeedSourceForm(instance=source), "source": source})

    def post(self, request, pk=None):
        source = self._source(pk)
        form = FeedSourceForm(request.POST, instance=source)
        if not form.is_valid():
            return render(request, self.template_name, {"form": form, "source": source}, status=400)
        changes = form.changes()
        saved = form.save()
        feed_control.record_change(saved, created=source is None, changes=changes)
        messages.success(request, f"{saved.name} saved.")
        return htmx_redirect(request, reverse("feed_status"))
