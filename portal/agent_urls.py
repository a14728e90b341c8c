"""The agent API's routes (/api/agent/v1/), in one list.

AgentApiMiddleware serves them ahead of the browser middleware; the root URLconf includes
them too, for reverse() and the OpenAPI schema.
"""

from django.urls import include, path

from deployments.agent_api.urls import urlpatterns as job_patterns
from devices.agent_api.urls import urlpatterns as device_patterns

PREFIX = "/api/agent/v1/"

urlpatterns = [path(PREFIX.lstrip("/"), include(device_patterns + job_patterns))]
