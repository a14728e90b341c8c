from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from tenants.roles import MspRole

__all__ = ["User"]


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create(self, email, password, **fields):
        if not email:
            raise ValueError("An e-mail address is required")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **fields):
        return self._create(email, password, **fields)

    def create_superuser(self, email, password=None, **fields):
        fields.setdefault("msp_role", MspRole.ADMIN)
        return self._create(email, password, **fields)

    def get_by_natural_key(self, email):
        return self.get(email__iexact=email)


class User(AbstractBaseUser):
    """A person who logs in by e-mail: MSP staff (msp_role set) or a client user."""

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    msp_role = models.CharField(max_length=20, choices=MspRole.choices, blank=True, default=MspRole.NONE)
    # A technician either works on every tenant or only on those with a technician membership.
    all_tenants = models.BooleanField(
        default=False, help_text="Technicians only: work on every tenant instead of an assigned list."
    )
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self) -> str:
        return self.full_name or self.email

    def save(self, *args, **kwargs):
        self.email = self.email.lower()
        super().save(*args, **kwargs)

    @property
    def is_msp_staff(self) -> bool:
        return self.msp_role in (MspRole.ADMIN, MspRole.TECHNICIAN)

    @property
    def is_msp_admin(self) -> bool:
        return self.msp_role == MspRole.ADMIN

    # Django admin (used for Celery beat schedules) is for MSP admins only.
    @property
    def is_staff(self) -> bool:
        return self.is_msp_admin

    @property
    def is_superuser(self) -> bool:
        return self.is_msp_admin

    # Django's per-model permissions are not used: access is decided by tenants.access.
    def has_perm(self, perm, obj=None) -> bool:
        return self.is_active and self.is_msp_admin

    def has_module_perms(self, app_label) -> bool:
        return self.is_active and self.is_msp_admin
