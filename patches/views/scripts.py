"""Pre- and post-install scripts: MSP staff read them and their history, MSP admins write them.

An edit never changes a version: it adds one (patches.scripts), and the history shows each
version's author, note and SHA-256, its body, and what changed between two versions.
"""

from __future__ import annotations

import difflib
import operator
from functools import reduce

from django.contrib import messages
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views import View

from advisories.access import MspView, msp_can
from patches import scripts as script_service
from patches.forms.scripts import ScriptForm
from patches.models import PatchPolicy, Script, ScriptVersion
from patches.policy import FIELDS
from patches.policy_display import policy_url
from portal.views import htmx_redirect

__all__ = [
    "ScriptCreateView",
    "ScriptDetailView",
    "ScriptDiffView",
    "ScriptEditView",
    "ScriptListView",
    "ScriptVersionView",
]

# The policy settings that name a script (pre, post, health check).
SCRIPT_SETTINGS = [key for key, spec in FIELDS.items() if spec.kind == "script"]


class ScriptListView(MspView, View):
    msp_capability = "script.view"

    def get(self, request):
        context = {"scripts": Script.objects.all(), "can_manage": msp_can(request.access, "script.manage")}
        return render(request, "patches/script_list.html", context)


class ScriptCreateView(MspView, View):
    msp_capability = "script.manage"
    template_name = "patches/script_form.html"

    def get(self, request):
        return render(request, self.template_name, {"form": ScriptForm()})

    def post(self, request):
        form = ScriptForm(request.POST)
        if not form.is_valid():
            return render(request, self.template_name, {"form": form}, status=400)
        data = form.cleaned_data
        script = script_service.create_script(
            name=data["name"],
            description=data["description"],
            interpreter=data["interpreter"],
            body=data["body"],
            note=data["note"],
            user=request.user,
        )
        messages.success(request, f"{script.name} saved as version 1.")
        return htmx_redirect(request, reverse("script_detail", kwargs={"pk": script.pk}))


class ScriptDetailView(MspView, View):
    msp_capability = "script.view"

    def get(self, request, pk):
        script = get_object_or_404(Script, pk=pk)
        versions = list(script.versions.select_related("created_by"))
        # A technician sees the policies of the tenants they work on (and the global one).
        used_by = (
            PatchPolicy.objects.visible_to(request.access, "policy.view")
            .filter(reduce(operator.or_, (Q(**{f"settings__{key}": pk}) for key in SCRIPT_SETTINGS)))
            .select_related("tenant", "site", "group", "device")
        )
        context = {
            "script": script,
            "versions": versions,
            "current": next((v for v in versions if v.number == script.current_version), None),
            "used_by": [{"policy": p, "url": policy_url(p)} for p in used_by],
            "can_manage": msp_can(request.access, "script.manage"),
        }
        return render(request, "patches/script_detail.html", context)


class ScriptEditView(MspView, View):
    """Change the script; a changed body becomes the next version."""

    msp_capability = "script.manage"
    template_name = "patches/script_form.html"

    def get(self, request, pk):
        script = get_object_or_404(Script, pk=pk)
        return render(request, self.template_name, {"form": ScriptForm(instance=script), "script": script})

    def post(self, request, pk):
        script = get_object_or_404(Script, pk=pk)
        # The page keeps showing the stored name: a bound form writes its values onto `instance`.
        shown = get_object_or_404(Script, pk=pk)
        form = ScriptForm(request.POST, instance=script)
        if form.is_valid():
            data = form.cleaned_data
            try:
                version = script_service.update_script(
                    script,
                    user=request.user,
                    body=data["body"],
                    note=data["note"],
                    base_version=data["base_version"],
                    name=data["name"],
                    description=data["description"],
                    interpreter=data["interpreter"],
                )
            except script_service.StaleEdit as exc:
                form.add_error(None, exc.message_dict["base_version"])
            else:
                if version is None:
                    messages.success(request, f"{script.name} saved; the body is unchanged, so no new version.")
                else:
                    messages.success(request, f"{script.name} saved as version {version.number}.")
                return htmx_redirect(request, reverse("script_detail", kwargs={"pk": script.pk}))
        return render(request, self.template_name, {"form": form, "script": shown}, status=400)


def _version(script, number) -> ScriptVersion:
    version = script.versions.select_related("created_by").filter(number=number).first()
    if version is None:
        raise Http404("No such version")
    return version


class ScriptVersionView(MspView, View):
    msp_capability = "script.view"

    def get(self, request, pk, number):
        script = get_object_or_404(Script, pk=pk)
        version = _version(script, number)
        return render(request, "patches/script_version.html", {"script": script, "version": version})


class ScriptDiffView(MspView, View):
    """`?from=<n>&to=<m>`; by default the previous version against the current one."""

    msp_capability = "script.view"

    def get(self, request, pk):
        script = get_object_or_404(Script, pk=pk)
        numbers = list(script.versions.values_list("number", flat=True).order_by("number"))
        newest = numbers[-1] if numbers else 0
        to_number = _number(request.GET.get("to"), newest)
        from_number = _number(request.GET.get("from"), max(to_number - 1, 1))
        old, new = _version(script, from_number), _version(script, to_number)
        lines = _classified(
            difflib.unified_diff(
                old.body.splitlines(),
                new.body.splitlines(),
                fromfile=f"{script.name} v{old.number}",
                tofile=f"{script.name} v{new.number}",
                lineterm="",
            )
        )
        context = {"script": script, "old": old, "new": new, "lines": lines, "numbers": numbers}
        return render(request, "patches/script_diff.html", context)


def _classified(lines) -> list[tuple[str, str]]:
    """Each diff line with its CSS class: file headers, hunk headers, added and removed lines."""
    rows = []
    for line in lines:
        if line.startswith(("+++", "---")):
            kind = "file"
        elif line.startswith("@@"):
            kind = "hunk"
        else:
            kind = {"+": "add", "-": "del"}.get(line[:1], "same")
        rows.append((kind, line))
    return rows


def _number(value, default: int) -> int:
    return int(value) if value and value.isdigit() else default
