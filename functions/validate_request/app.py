"""Workflow step: check a request against its schema; say which field is wrong when it is not."""

from tenantry.requests import check_request


def handler(event, context):
    return check_request(event["detailType"], event["detail"], event["executionName"])
