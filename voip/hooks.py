"""What voip's services ask of the modules above them (portal.hooks explains the mechanism)."""
from portal.hooks import Hook

# Queue an upload's import once the upload commits: answered by voip/apps.py with voip.tasks.import_upload's
# queueing, because the tasks module sits above the services that ask for it. A hook rather than sending the
# task by name: Celery's send_task ignores CELERY_TASK_ALWAYS_EAGER, so tests would never run the import.
import_upload_later = Hook("voip.import_upload_later", "queue the import of an uploaded CDR file")
