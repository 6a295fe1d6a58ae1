"""Step handlers of the remediate-node runbook (aws:executeScript, Runtime python3.11).

The construct embeds this file into the runbook at synth time; the tests run it with python3.
Handlers take (events, context) and return a dict that the runbook reads as $.Payload.<key>.
https://docs.aws.amazon.com/systems-manager/latest/userguide/automation-action-executeScript.html
"""
import re

# A bare node id (hybrid mi-, EC2 i- with 8 or 17 hex digits), optionally prefixed by the resource type AWS Config
# puts in front of it for SSM compliance resources ("AWS::SSM::ManagedInstanceInventory/mi-...").
NODE_ID = re.compile(r'^(?:[A-Za-z0-9:]+/)?(mi-[0-9a-f]{17}|i-[0-9a-f]{8}(?:[0-9a-f]{9})?)$')

REPORT_MESSAGE = 'report mode: not remediated'


def normalize_node_id(events, context):
    """Strips the Config prefix and says which API holds the node's tags."""
    raw = str(events.get('NodeId', '')).strip()
    match = NODE_ID.match(raw)
    if not match:
        raise ValueError(
            'NodeId must be a managed node id (mi-<17 hex> or i-<8 or 17 hex>), bare or prefixed by a '
            'Config resource type, got: %r' % raw
        )
    node_id = match.group(1)
    kind = 'ManagedInstance' if node_id.startswith('mi-') else 'EC2Instance'
    return {'NodeId': node_id, 'NodeKind': kind}


def decide(events, context):
    """Chooses the remediation from the node's tags: only the exact enforce value remediates."""
    key = events['ModeTagKey']
    enforce = events['EnforceValue']
    compliance_type = events['ComplianceType']
    tags = events.get('Tags') or []
    mode = None
    for tag in tags:
        if tag.get('Key') == key:
            mode = tag.get('Value')
            break
    if mode is None:
        return {'Action': 'Report', 'Mode': '(no %s tag)' % key}
    if mode != enforce:
        return {'Action': 'Report', 'Mode': mode}
    if compliance_type == 'Patch':
        return {'Action': 'InstallPatches', 'Mode': mode}
    if compliance_type == 'Association':
        return {'Action': 'RefreshAssociations', 'Mode': mode}
    raise ValueError('ComplianceType must be Patch or Association, got: %r' % compliance_type)


def not_remediated(events, context):
    """The outcome of a node that is not in enforce mode."""
    return {'Message': REPORT_MESSAGE, 'NodeId': events.get('NodeId', '')}
