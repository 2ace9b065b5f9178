"""RAPI v2 job resources: /2/jobs, /2/jobs/[job_id], /2/jobs/[job_id]/wait."""

from __future__ import annotations

from typing import Any

from ganeti import errors, http, luxi, rapi
from ganeti.rapi import baserlib

J_FIELDS_BULK = ["id", "ops", "status", "summary", "opstatus", "received_ts",
                 "start_ts", "end_ts"]
J_FIELDS = J_FIELDS_BULK + ["oplog", "opresult"]

# Longest a GET /2/jobs/[job_id]/wait blocks in the master (Ganeti's
# _WFJC_TIMEOUT): short, since it ties up a connection and a thread.
WFJC_TIMEOUT = 10


class R_2_jobs(baserlib.ResourceBase):
    """/2/jobs resource: every job of the queue."""

    def GET(self) -> list[Any]:
        client = self.GetClient()
        if self.useBulk():
            rows = client.QueryJobs(None, J_FIELDS_BULK)
            return baserlib.MapBulkFields(rows, J_FIELDS_BULK)
        ids = [row[0] for row in client.QueryJobs(None, ["id"])]
        return baserlib.BuildUriList(ids, "/2/jobs/%s", uri_fields=("id", "uri"))


class R_2_jobs_id(baserlib.ResourceBase):
    """/2/jobs/[job_id] resource."""

    def GET(self) -> dict[str, Any]:
        job_id = self.items[0]
        result = self.GetClient().QueryJobs([job_id], J_FIELDS)
        if not result or result[0] is None:
            raise http.HttpNotFound(f"Job {job_id} not found")
        return baserlib.MapFields(J_FIELDS, result[0])

    def DELETE(self) -> Any:
        """Cancel a job that has not started yet: [success, message]."""
        return self.GetClient().CancelJob(self.items[0])


class R_2_jobs_id_wait(baserlib.ResourceBase):
    """/2/jobs/[job_id]/wait resource: wait (at most 10 s) for a change.

    Needs write access: it shows the job's details and blocks a thread.
    """

    GET_ACCESS = [rapi.RAPI_ACCESS_WRITE]

    def GET(self) -> dict[str, Any] | None:
        job_id = self.items[0]
        fields = self.getBodyParameter("fields")
        prev_job_info = self.getBodyParameter("previous_job_info", None)
        prev_log_serial = self.getBodyParameter("previous_log_serial", None)
        if not isinstance(fields, list):
            raise http.HttpBadRequest("The 'fields' parameter should be a list")
        if not (prev_job_info is None or isinstance(prev_job_info, list)):
            raise http.HttpBadRequest("The 'previous_job_info' parameter should"
                                      " be a list")
        if not (prev_log_serial is None or
                (isinstance(prev_log_serial, int) and
                 not isinstance(prev_log_serial, bool))):
            raise http.HttpBadRequest("The 'previous_log_serial' parameter"
                                      " should be a number")
        try:
            result = self.GetClient().WaitForJobChangeOnce(
                job_id, fields, prev_job_info, prev_log_serial,
                timeout=WFJC_TIMEOUT)
        except errors.JobLost as err:
            raise http.HttpNotFound(f"Job {job_id} not found") from err
        if not result:
            raise http.HttpNotFound(f"Job {job_id} not found")
        if result == luxi.JOB_NOTCHANGED:
            return None
        (job_info, log_entries) = result
        return {"job_info": job_info, "log_entries": log_entries}
