"""MSP user administration (MSP admins only): staff accounts and every client user."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Q
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.generic import CreateView, ListView, UpdateView

from portal.views import StaffView, htmx_redirect
from tenants import services
from tenants.forms import ClientUserForm, StaffUserForm
from tenants.models import User


class UserListView(StaffView, ListView):
    admin_only = True
    template_name = "tenants/user_list.html"
    context_object_name = "users"
    paginate_by = 50

    def get_queryset(self):
        users = User.objects.prefetch_related("memberships__tenant").order_by("msp_role", "email")
        query = self.request.GET.get("q", "").strip()
        if query:
            users = users.filter(Q(email__icontains=query) | Q(full_name__icontains=query))
        return users

    def get_template_names(self):
        if self.request.htmx and not self.request.htmx.boosted:
            return ["tenants/_user_rows.html"]
        return [self.template_name]


class StaffUserCreateView(StaffView, CreateView):
    admin_only = True
    form_class = StaffUserForm
    template_name = "tenants/user_form.html"

    def form_valid(self, form):
        user = services.invite_user(form.save(commit=False))
        messages.success(self.request, f"{user.email} created; an invitation to set a password was sent.")
        return htmx_redirect(self.request, reverse("user_list"))


class UserEditView(StaffView, UpdateView):
    admin_only = True
    template_name = "tenants/user_form.html"

    def get_object(self, queryset=None):
        return get_object_or_404(User, pk=self.kwargs["pk"])

    def get_form_class(self):
        return StaffUserForm if self.object.is_msp_staff else ClientUserForm

    def form_valid(self, form):
        if form.instance.pk == self.request.user.pk and not form.cleaned_data.get("is_active", True):
            form.add_error("is_active", "You cannot deactivate your own account.")
            return self.form_invalid(form)
        form.save()
        messages.success(self.request, "Saved.")
        return htmx_redirect(self.request, reverse("user_list"))
