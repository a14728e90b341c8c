"""factory_boy factories for the models the tests build."""

from __future__ import annotations

import factory
from django_otp.plugins.otp_totp.models import TOTPDevice

from tenants.models import Membership, Site, Tenant, User
from tenants.roles import MspRole, TenantRole

PASSWORD = "correct-horse-battery"


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Client {n}")
    slug = factory.Sequence(lambda n: f"client-{n}")
    time_zone = "Europe/Berlin"
    contact_emails = factory.LazyAttribute(lambda t: [f"it@{t.slug}.example"])


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Site {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    full_name = factory.Faker("name")
    msp_role = MspRole.NONE
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save(update_fields=["password"])


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    tenant = factory.SubFactory(TenantFactory)
    user = factory.SubFactory(UserFactory)
    role = TenantRole.CLIENT_VIEWER


class TOTPDeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TOTPDevice

    user = factory.SubFactory(UserFactory)
    name = "Authenticator app"
    confirmed = True


class DeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "devices.Device"

    tenant = factory.SubFactory(TenantFactory)
    hostname = factory.Sequence(lambda n: f"host-{n}")
    os_family = "linux"
    os_id = "debian"
    os_name = "Debian GNU/Linux"
    os_version = "12"
    ecosystem = "Debian:12"
    arch = "amd64"
    token_hash = factory.Sequence(lambda n: f"{n:064x}")
