from deployments.forms.deployments import DeploymentForm
from deployments.forms.rings import RingForm
from deployments.forms.windows import BlackoutForm, MaintenanceWindowForm

__all__ = ["BlackoutForm", "DeploymentForm", "MaintenanceWindowForm", "RingForm"]
