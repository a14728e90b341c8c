from deployments.models.alerts import Alert, AlertChannel, AlertDelivery, AlertKind
from deployments.models.deployments import Deployment, DeploymentPatch, DeploymentStage, DeploymentTarget
from deployments.models.health import HealthReport
from deployments.models.jobs import Job, JobEvent, JobKind, JobState
from deployments.models.rings import Ring, RingMember
from deployments.models.windows import BlackoutPeriod, MaintenanceWindow, WindowPurpose, WindowRecurrence

__all__ = [
    "Alert",
    "AlertChannel",
    "AlertDelivery",
    "AlertKind",
    "BlackoutPeriod",
    "Deployment",
    "DeploymentPatch",
    "DeploymentStage",
    "DeploymentTarget",
    "HealthReport",
    "Job",
    "JobEvent",
    "JobKind",
    "JobState",
    "MaintenanceWindow",
    "Ring",
    "RingMember",
    "WindowPurpose",
    "WindowRecurrence",
]
