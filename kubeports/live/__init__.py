"""Reading a cloud's live security groups, read-only, through the cloud's own SDK.

Rules of this room:
- read-only calls only (list / describe); nothing here creates, changes or deletes;
- credentials come from each SDK's standard chain (openstacksdk: `OS_CLOUD` with
  clouds.yaml, or `OS_*`; boto3: the usual AWS chain, `AWS_ENDPOINT_URL` included);
- each reader returns the same JSON document a saved dump holds, so one parser
  (kubeports.core.live) reads both; imports the core only, and only the cli imports it.
"""
