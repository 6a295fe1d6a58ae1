"""Chooses the stopped EC2 instances that the runbook patch-stopped-instances.json starts, patches and stops again.

aws:executeScript handler (Runtime python3.11). It calls no AWS API: the runbook lists the instances first
(ec2 DescribeInstances, filtered by the group's tag and the stopped state) and passes the reservations in.
"""

# SendCommand takes at most 50 InstanceIds, and so does the DescribeInstanceInformation filter the runbook waits on.
MAX_INSTANCES = 50


def choose_instances(events, context):
    """Returns the ids to start (stopped, carrying the mode tag when one is given), at most MaxInstances."""
    limit = int(events.get("MaxInstances", MAX_INSTANCES))
    if limit < 1 or limit > MAX_INSTANCES:
        raise ValueError(f"MaxInstances must be from 1 to {MAX_INSTANCES}, got: {limit}")
    mode_key = events.get("ModeTagKey") or ""
    mode_value = events.get("ModeTagValue") or ""

    found = set()
    for reservation in events.get("Reservations") or []:
        for instance in reservation.get("Instances") or []:
            if (instance.get("State") or {}).get("Name") != "stopped":
                continue  # only instances this run finds stopped are started, and so stopped again
            tags = {tag.get("Key"): tag.get("Value") for tag in instance.get("Tags") or []}
            if mode_key and tags.get(mode_key) != mode_value:
                continue
            found.add(instance["InstanceId"])

    ordered = sorted(found)
    chosen = ordered[:limit]
    last = max(len(chosen) - 1, 0)
    print(f"{len(found)} stopped instance(s) found, starting {len(chosen)}: {', '.join(chosen) or 'none'}")
    return {
        "InstanceIds": chosen,
        "Count": len(chosen),
        "Skipped": len(ordered) - len(chosen),
        # The wait step lists only the chosen instances that are Online: entry n-1 exists once all n are.
        "AllOnlineSelector": f"$.InstanceInformationList[{last}].PingStatus",
    }
