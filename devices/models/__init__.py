from devices.models.device import Criticality, Device, DeviceState, OsFamily
from devices.models.enrollment import EnrollmentToken
from devices.models.groups import DeviceGroup, DeviceGroupMember
from devices.models.presence import DeviceCheckIn
from devices.models.software import DeviceSoftware, SoftwarePackage
from devices.models.updates import DeviceUpdate, Update, UpdateKind

__all__ = [
    "Criticality",
    "Device",
    "DeviceCheckIn",
    "DeviceGroup",
    "DeviceGroupMember",
    "DeviceSoftware",
    "DeviceState",
    "DeviceUpdate",
    "EnrollmentToken",
    "OsFamily",
    "SoftwarePackage",
    "Update",
    "UpdateKind",
]
