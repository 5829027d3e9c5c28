"""The Django admin of the EDC, audited like every other path (domain.md 9.2, 9.3).

``edc_admin_site`` (mounted at ``/admin/``) is open to active users of the ``admin`` role only (a
Django superuser without a study account is refused: nothing unattributed). Every model on it is
registered with an ``AuditedModelAdmin``:

- each change runs inside ``audit_context`` with the signed-in user, source ``admin`` and the
  reason typed into the form's required "reason for change" field, so the change leaves an audit
  event like any other (a save without a reason never reaches the database);
- nothing is added or deleted here (records are created through the services, which apply the
  trial's rules, and never deleted: ALCOA "complete"); only the fields an administrator may correct
  are editable (``editable_fields``), the rest is shown read-only;
- the concealed randomization list (its slots and seed) is not registered at all (domain.md 9.4).

Django's default ``admin.site`` (where ``django.contrib.auth`` registers its unaudited User and
Group admins) is not routed.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpRequest, HttpResponse

from ikctrial.web.audit.context import audit_context
from ikctrial.web.audit.models import AuditEvent
from ikctrial.web.sites.permissions import Role
from ikctrial.web.sites.selectors import role_of

REASON_FIELD = "reason_for_change"


class EdcAdminLoginForm(AdminAuthenticationForm):
    """The admin's sign-in: an active account of the ``admin`` role (not Django's ``is_staff``)."""

    def confirm_login_allowed(self, user: Any) -> None:
        """Refuse inactive accounts and every role but ``admin``."""
        AuthenticationForm.confirm_login_allowed(self, user)
        if role_of(user) != Role.ADMIN:
            raise ValidationError(
                self.error_messages["invalid_login"],
                code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )


class EdcAdminSite(admin.AdminSite):
    """The admin site of the study: active users with the ``admin`` role only."""

    login_form = EdcAdminLoginForm
    site_header = "ikctrial EDC administration"
    site_title = "ikctrial EDC"
    index_title = "Administration (every change is audited)"

    def has_permission(self, request: HttpRequest) -> bool:
        """Active users whose study role is ``admin``."""
        user = request.user
        return bool(user.is_active and role_of(user) == Role.ADMIN)


edc_admin_site = EdcAdminSite(name="admin")


class AuditedAdminForm(forms.ModelForm):  # type: ignore[type-arg]
    """A model form with the reason for the change (required: every admin save is a change)."""

    reason_for_change = forms.CharField(
        label="Reason for change",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Recorded in the audit trail with the change (ICH E6(R3)).",
    )


class AuditedModelAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Change (never add or delete) a record through the admin, audited with a reason."""

    form = AuditedAdminForm
    actions = None
    editable_fields: ClassVar[tuple[str, ...]] = ()
    """The fields the admin may correct; every other field is read-only."""
    hidden_fields: ClassVar[tuple[str, ...]] = ()
    """Fields never shown (e.g. a token's digest)."""

    def _is_site_admin(self, request: HttpRequest) -> bool:
        return self.admin_site.has_permission(request)

    def has_module_permission(self, request: HttpRequest) -> bool:
        """The admin role sees every registered model."""
        return self._is_site_admin(request)

    def has_view_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        """The admin role reads every registered record."""
        return self._is_site_admin(request)

    def has_change_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        """Only models with correctable fields can be changed here."""
        return bool(self.editable_fields) and self._is_site_admin(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Records are created through the services (which apply the trial's rules)."""
        return False

    def has_delete_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        """Trial records are never deleted."""
        return False

    def get_fields(self, request: HttpRequest, obj: models.Model | None = None) -> list[str]:
        """Every concrete field (read-only unless editable), then the reason when changing."""
        names = [
            f.name for f in self.model._meta.concrete_fields if f.name not in self.hidden_fields
        ]
        if self.has_change_permission(request, obj):
            names.append(REASON_FIELD)
        return names

    def get_readonly_fields(
        self, request: HttpRequest, obj: models.Model | None = None
    ) -> list[str]:
        """Everything except the editable fields (and the reason)."""
        return [
            f.name
            for f in self.model._meta.concrete_fields
            if f.name not in self.editable_fields and f.name not in self.hidden_fields
        ]

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """The change page; a save inside it is attributed to the user, with the form's reason."""
        reason = request.POST.get(REASON_FIELD) if request.method == "POST" else None
        with audit_context(actor=request.user, reason=reason, source="admin"):
            return super().changeform_view(request, object_id, form_url, extra_context)


class AuditEventAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The trail itself, read-only (the slots of the concealed list are never registered, so
    their events are withheld here as in ``GET /api/v1/audit``)."""

    actions = None
    list_display = ("id", "timestamp", "actor", "source", "action", "model", "object_pk")
    list_filter = ("action", "source", "model")
    search_fields = ("actor", "object_pk", "reason")

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[AuditEvent]:
        """Every event, except those of the concealed list (domain.md 9.4)."""
        from ikctrial.web.audit.selectors import CONCEALED_FIELDS, CONCEALED_MODELS

        hidden = CONCEALED_MODELS | frozenset(CONCEALED_FIELDS)
        return super().get_queryset(request).exclude(model__in=hidden)

    def has_module_permission(self, request: HttpRequest) -> bool:
        """The admin role reads the trail."""
        return self.admin_site.has_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        """The admin role reads the trail."""
        return self.admin_site.has_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        """Audit events are append-only."""
        return False

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Events are written by the audited models only."""
        return False

    def has_delete_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        """Audit events are append-only."""
        return False


edc_admin_site.register(AuditEvent, AuditEventAdmin)
