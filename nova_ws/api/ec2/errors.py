"""
EC2 errors: a code, a message and an HTTP status, answered as EC2's XML
(C{<Response><Errors><Error><Code>...}), which boto3 turns into a
C{ClientError} with that code.

L{from_fault} translates the faults of the Compute API's handlers, which
the EC2 actions reuse, into EC2's codes.
"""

from __future__ import annotations

from nova_ws.api.errors import Fault


class Ec2Error(Exception):
    """An EC2 error answer."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def invalid_value(name: str, value: object, reason: str = "") -> Ec2Error:
    """C{InvalidParameterValue} for the parameter C{name}."""
    text = f"Invalid value '{value}' for {name}."
    return Ec2Error("InvalidParameterValue", f"{text} {reason}".strip())


def missing(name: str) -> Ec2Error:
    """C{MissingParameter}: a required parameter is absent."""
    return Ec2Error("MissingParameter", f"The request must contain the parameter {name}.")


def unauthorized() -> Ec2Error:
    """C{UnauthorizedOperation}: the roles do not allow it (a reader's changes)."""
    return Ec2Error("UnauthorizedOperation",
                    "You are not authorized to perform this operation.", 403)


def dry_run() -> Ec2Error:
    """C{DryRunOperation}: the request would have succeeded."""
    return Ec2Error("DryRunOperation",
                    "Request would have succeeded, but DryRun flag is set.", 412)


#: Messages of the Compute API's 400s -> (EC2 code, parameter) where EC2 has its own.
_BAD_REQUESTS = {
    "Invalid flavorRef provided.": ("InvalidParameterValue", "InstanceType"),
    "Invalid key_name provided.": ("InvalidKeyPair.NotFound", "KeyName"),
    "Can not find requested image": ("InvalidAMIID.NotFound", "ImageId"),
}


def from_fault(fault: Fault, instance_id: str | None = None) -> Ec2Error:
    """
    The EC2 error for a fault of the Compute API's handlers (which answer in
    Nova's terms), about the instance C{instance_id} if there is one.
    """
    message = fault.message
    if fault.status == 400:
        code, name = _BAD_REQUESTS.get(message, ("InvalidParameterValue", ""))
        return Ec2Error(code, f"{message} ({name})" if name else message)
    if fault.status == 403:
        if message.startswith("Quota exceeded for instances"):
            return Ec2Error("InstanceLimitExceeded", message)
        if message.startswith("Quota exceeded"):
            return Ec2Error("ResourceLimitExceeded", message)
        return unauthorized()
    if fault.status == 404:
        if instance_id is not None:
            return instance_not_found([instance_id])
        return Ec2Error("InvalidParameterValue", message)
    if fault.status == 409:
        return Ec2Error("IncorrectInstanceState",
                        f"The instance '{instance_id}' is not in a state from which the "
                        f"requested operation can be performed: {message}"
                        if instance_id else message)
    if fault.status == 503:
        return Ec2Error("Unavailable", "The service is unavailable. Try again later.", 503)
    return Ec2Error("InternalError", "An internal error has occurred.", 500)


def instance_not_found(ids: list[str]) -> Ec2Error:
    """C{InvalidInstanceID.NotFound} for the ids (EC2's wording)."""
    if len(ids) == 1:
        return Ec2Error("InvalidInstanceID.NotFound",
                        f"The instance ID '{ids[0]}' does not exist")
    return Ec2Error("InvalidInstanceID.NotFound",
                    f"The instance IDs '{', '.join(ids)}' do not exist")
