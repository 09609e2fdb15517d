"""
The EC2 query API subset Nova offered, mounted at C{/ec2}: DescribeInstances,
RunInstances, TerminateInstances, StartInstances, StopInstances,
RebootInstances, DescribeImages, DescribeAvailabilityZones and
GetConsoleOutput, signed with AWS Signature Version 4 by EC2 credentials
(C{nova-ws ec2-credentials} or Identity's C{users/{id}/credentials/OS-EC2}),
answered in EC2's XML.
"""

from nova_ws.api.ec2.app import Ec2Api

__all__ = ["Ec2Api"]
