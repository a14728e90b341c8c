"""The Celery application, configured from Django settings (CELERY_* names).

Every task runs through `ScopedTask`: its body executes inside a database
transaction whose row-level-security scope is the task's tenant (a `tenant_id`
keyword argument) or, for MSP-wide scheduled work, the system scope.
"""

from __future__ import annotations

import os

from celery import Celery, Task

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")


class ScopedTask(Task):
    # Work that must not be lost is acknowledged only after it ran; a worker that dies
    # mid-task leaves the message on the broker for another worker.
    acks_late = True
    reject_on_worker_lost = True
    # Tasks that commit in several steps set this to False and open scopes themselves.
    atomic_scope = True

    def __call__(self, *args, **kwargs):
        if not self.atomic_scope:
            return super().__call__(*args, **kwargs)
        from portal.db_scope import system_scope, tenant_scope

        tenant_id = kwargs.get("tenant_id")
        scope = tenant_scope([tenant_id]) if tenant_id is not None else system_scope()
        with scope:
            return super().__call__(*args, **kwargs)


app = Celery("portal", task_cls=ScopedTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
