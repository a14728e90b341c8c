"""The report archive of a tenant, a report's HTML preview, signed PDF downloads and branding.

Access: every role of a tenant reads its archive (`report.view`), MSP staff ask for new
reports (`report.manage`), MSP admins edit the branding. Downloads go through signed links
that expire (reports/links.py documents who may follow one).
"""

from __future__ import annotations

from csp.decorators import csp_update
from django.contrib import messages
from django.db import transaction
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views import View

from portal.db_scope import system_scope
from portal.views import StaffView, TenantView, htmx_redirect
from reports import exports, links
from reports.forms import LOGO_TYPES, BrandingForm, ReportRequestForm
from reports.models import Branding, DeliveryState, Report, ReportDelivery, ReportState
from reports.rendering import logo_file, render_html
from reports.services import ReportError, create_report
from tenants import audit
from tenants.access import get_object, require

__all__ = [
    "BrandingView",
    "FindingsCsvView",
    "JobsCsvView",
    "ReportDownloadView",
    "ReportListView",
    "ReportPreviewView",
    "ReportRequestView",
]


class ReportListView(TenantView, View):
    """The tenant's reports, newest first; each ready one with a freshly signed download link."""

    capability = "report.view"

    def get(self, request, tenant_slug):
        reports = list(
            Report.objects.in_tenant(self.tenant)
            .select_related("deployment", "created_by")
            .defer("data")
            .order_by("-created_at", "-pk")
        )
        for report in reports:
            report.link = (
                reverse("report_download", kwargs={"token": links.make_token(report)})
                if report.state == ReportState.READY and report.sha256
                else ""
            )
        can_manage = request.access.can(self.tenant.pk, "report.manage")
        context = {
            "tenant": self.tenant,
            "reports": reports,
            "can_manage": can_manage,
            # Staff see at once when scheduled e-mails failed (the delivery log has the details).
            "failed_deliveries": ReportDelivery.objects.in_tenant(self.tenant)
            .filter(state=DeliveryState.FAILED)
            .count()
            if can_manage
            else 0,
            "can_export_findings": request.access.can(self.tenant.pk, "finding.view"),
            "can_export_jobs": request.access.can(self.tenant.pk, "deployment.view"),
            "link_days": links.max_age_days(),
        }
        return render(request, "reports/portal/archive.html", context)


class ReportRequestView(TenantView, View):
    """Staff ask for a report: the snapshot is taken now, the PDF rendered by a worker."""

    capability = "report.manage"
    template_name = "reports/portal/request.html"

    def get(self, request, tenant_slug):
        return self.show(request, ReportRequestForm(tenant=self.tenant))

    def show(self, request, form, status=200):
        return render(request, self.template_name, {"tenant": self.tenant, "form": form}, status=status)

    def post(self, request, tenant_slug):
        from reports.tasks import render_report

        form = ReportRequestForm(request.POST, tenant=self.tenant)
        if not form.is_valid():
            return self.show(request, form, status=400)
        try:
            report = create_report(
                self.tenant, form.cleaned_data["kind"], now=timezone.now(), user=request.user, **form.period()
            )
        except ReportError as error:
            form.add_error(None, str(error))
            return self.show(request, form, status=400)
        audit.record("report_requested", report, changes={"kind": report.kind})
        tenant_id = self.tenant.pk
        transaction.on_commit(lambda: render_report.delay(report.pk, tenant_id=tenant_id))
        messages.success(request, f"{report} is being rendered; it appears here when it is ready.")
        return htmx_redirect(request, reverse("report_list", kwargs={"tenant_slug": self.tenant.slug}))


@method_decorator(csp_update({"style-src": ["'unsafe-inline'"]}), name="dispatch")
class ReportPreviewView(TenantView, View):
    """The report as HTML, from its stored snapshot: what the PDF shows, charts included.

    The report's own stylesheet sets its colours inline (validated #rrggbb values only).
    """

    capability = "report.view"

    def get(self, request, tenant_slug, pk):
        report = get_object(request.access, Report.objects.in_tenant(self.tenant), "report.view", pk=pk)
        logo_url = reverse("report_logo", kwargs={"tenant_slug": self.tenant.slug, "pk": report.pk})
        return HttpResponse(render_html(report.data, for_pdf=False, logo_url=logo_url))


class ReportLogoView(TenantView, View):
    """The branding logo the report's snapshot names, for its HTML preview (uploads are not
    served publicly; the PDF reads the file itself)."""

    capability = "report.view"

    def get(self, request, tenant_slug, pk):
        report = get_object(request.access, Report.objects.in_tenant(self.tenant), "report.view", pk=pk)
        path = logo_file(report.data)
        if path is None:
            raise Http404("This report has no logo.")
        content_type = LOGO_TYPES.get(path.suffix.lower().lstrip("."), "application/octet-stream")
        response = FileResponse(path.open("rb"), content_type=content_type)
        response["Cache-Control"] = "private, max-age=3600"
        response["X-Content-Type-Options"] = "nosniff"
        if content_type == "image/svg+xml":
            response["Content-Security-Policy"] = (
                "default-src 'none'; style-src 'unsafe-inline'"  # no scripts in an SVG
            )
        return response


def _refused(request, status: int, title: str, message: str) -> HttpResponse:
    return render(request, "reports/portal/link_refused.html", {"title": title, "message": message}, status=status)


class ReportDownloadView(View):
    """A report's PDF through a signed link; no sign-in needed (see reports/links.py).

    Expired links get 410, links we did not issue (or for a PDF that no longer exists) 404.
    """

    def get(self, request, token):
        try:
            claim = links.read_token(token)
        except links.LinkExpired:
            return _refused(
                request,
                410,
                "This download link has expired",
                f"Links to reports are valid for {links.max_age_days()} days. "
                "Sign in to the portal for a new link, or ask your service provider to send the report again.",
            )
        except links.LinkInvalid:
            return _refused(
                request, 404, "This download link is not valid", "Check that the whole link was copied from the e-mail."
            )
        # The link is the credential: look the report up whatever the caller's own scope.
        with system_scope():
            report = Report.objects.filter(pk=claim.report_id, state=ReportState.READY).select_related("tenant").first()
        if report is None or not report.pdf or report.sha256[: links.DIGEST_CHARS] != claim.digest:
            return _refused(
                request, 404, "This report is no longer available", "It was removed or rendered again since."
            )
        if not report.tenant.is_active or report.tenant.is_archived:
            # An offboarded client's links die with its account, however recently they were sent.
            return _refused(request, 404, "This report is no longer available", "The account it belongs to is closed.")
        if request.user.is_authenticated:
            require(request.access, report.tenant_id, "report.view")  # 404 outside the tenant
        try:
            pdf = report.pdf.open("rb")
        except FileNotFoundError:
            return _refused(request, 404, "This report is no longer available", "Its PDF file is missing.")
        audit.record("report_downloaded", report, tenant=report.tenant)
        filename = f"{report.tenant.slug}-{report.kind}-{report.period_end:%Y-%m}.pdf"
        response = FileResponse(pdf, as_attachment=True, filename=filename, content_type="application/pdf")
        response["Cache-Control"] = "private, no-store"
        response["X-Report-SHA256"] = report.sha256
        return response


class BrandingView(StaffView, View):
    """The MSP's name, logo, colours and contact line on every report (MSP admins)."""

    admin_only = True
    template_name = "reports/portal/branding.html"

    def get(self, request):
        return self.show(request, BrandingForm(instance=Branding.load()))

    def show(self, request, form, status=200):
        return render(request, self.template_name, {"form": form, "branding": form.instance}, status=status)

    def post(self, request):
        form = BrandingForm(request.POST, request.FILES, instance=Branding.load())
        if not form.is_valid():
            return self.show(request, form, status=400)
        branding = form.save(commit=False)
        branding.updated_at = timezone.now()
        branding.save()  # audited (Branding is an AuditedModel): what changed, by whom
        messages.success(request, "Branding saved; it applies to reports rendered from now on.")
        return htmx_redirect(request, reverse("branding_edit"))


class _CsvExportView(TenantView, View):
    build = None  # (tenant) -> CSV text
    what = ""

    def get(self, request, tenant_slug):
        text = self.build(self.tenant)
        stamp = timezone.now().strftime("%Y-%m-%d")
        response = HttpResponse(text, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{self.tenant.slug}-{self.what}-{stamp}.csv"'
        response["Cache-Control"] = "private, no-store"
        return response


class FindingsCsvView(_CsvExportView):
    """Every finding of the tenant (open, fixed, accepted), one row each."""

    capability = "finding.view"
    build = staticmethod(exports.findings_csv)
    what = "findings"


class JobsCsvView(_CsvExportView):
    """Every deployment job of the tenant with its result."""

    capability = "deployment.view"
    build = staticmethod(exports.jobs_csv)
    what = "jobs"
