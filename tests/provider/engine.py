"""What the Pulumi engine serves a component provider during Construct, without the Pulumi CLI.

A provider's Construct registers the component's resources itself: it dials the resource
monitor named in the request (`monitorEndpoint`) and the engine given on its command line
(logs, the root stack). This module serves both over real gRPC, in this process:
- the resource monitor is the offline plan's RecordingMonitor (kubeports/plan/offline.py):
  the same mock ids, mock IPs and engine URNs, so what a provider registers compares with
  `run_plan` of the Python program resource by resource;
- it advertises the features the engine does, output values included (the plan's
  in-process mock monitor turns those off), so inputs cross the wire as they do for real;
- the engine keeps the log lines and answers GetRootResource with the stack's URN.
No Pulumi CLI, no language host, no provider plugin: nothing here is the real engine's
planning, diffing or state; it is its gRPC surface as a provider sees it.
"""
from __future__ import annotations

from concurrent import futures
from typing import Any

import grpc
from google.protobuf import empty_pb2
from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc, resource_pb2, resource_pb2_grpc

from kubeports.plan.offline import PlanMocks, RecordingMonitor

FEATURES = [resource_pb2.RESOURCE_MONITOR_FEATURE_SECRETS, resource_pb2.RESOURCE_MONITOR_FEATURE_RESOURCE_REFERENCES,
            resource_pb2.RESOURCE_MONITOR_FEATURE_OUTPUT_VALUES, resource_pb2.RESOURCE_MONITOR_FEATURE_ALIAS_SPECS,
            resource_pb2.RESOURCE_MONITOR_FEATURE_DELETED_WITH, resource_pb2.RESOURCE_MONITOR_FEATURE_TRANSFORMS]
MONITOR_CALLS = ("RegisterResource", "RegisterResourceOutputs", "ReadResource", "Invoke", "RegisterPackage",
                 "RegisterStackTransform")


def stack_urn(stack: str, project: str) -> str:
    return f"urn:pulumi:{stack}::{project}::pulumi:pulumi:Stack::{project}-{stack}"


class _Monitor(resource_pb2_grpc.ResourceMonitorServicer):
    def __init__(self, monitor: RecordingMonitor):
        self.monitor = monitor

    def GetDeploymentInfo(self, request: Any, context: Any) -> Any:  # noqa: N802 - gRPC method name
        return resource_pb2.DeploymentInfo(supportedFeatures=FEATURES)

    def SupportsFeature(self, request: Any, context: Any) -> Any:  # noqa: N802 - older SDKs ask one by one
        return resource_pb2.SupportsFeatureResponse(hasSupport=request.id in {
            "secrets", "resourceReferences", "outputValues", "aliasSpecs", "deletedWith", "transforms"})


def _delegate(name: str) -> Any:
    def call(self: _Monitor, request: Any, context: Any) -> Any:
        return getattr(self.monitor, name)(request)
    return call


for _name in MONITOR_CALLS:
    setattr(_Monitor, _name, _delegate(_name))


class _Engine(engine_pb2_grpc.EngineServicer):
    def __init__(self, owner: FakeEngine):
        self.owner = owner

    def Log(self, request: Any, context: Any) -> Any:  # noqa: N802 - gRPC method name
        self.owner.logs.append((engine_pb2.LogSeverity.Name(request.severity), request.message))
        return empty_pb2.Empty()

    def GetRootResource(self, request: Any, context: Any) -> Any:  # noqa: N802
        return engine_pb2.GetRootResourceResponse(urn=self.owner.root)

    def SetRootResource(self, request: Any, context: Any) -> Any:  # noqa: N802
        self.owner.root = request.urn
        return engine_pb2.SetRootResourceResponse()


class FakeEngine:
    """The engine's address (given to the provider when it starts) and, at the same address,
    the resource monitor of the current deployment (named in each ConstructRequest)."""

    def __init__(self) -> None:
        self.logs: list[tuple[str, str]] = []
        self.root = ""
        self.servicer = _Monitor(RecordingMonitor(PlanMocks(), stack="none", project="none"))
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        resource_pb2_grpc.add_ResourceMonitorServicer_to_server(self.servicer, self.server)
        engine_pb2_grpc.add_EngineServicer_to_server(_Engine(self), self.server)
        self.address = f"127.0.0.1:{self.server.add_insecure_port('127.0.0.1:0')}"
        self.server.start()

    def deployment(self, stack: str, project: str, mocks: PlanMocks) -> RecordingMonitor:
        """A fresh monitor (and log) for the next Construct; `mocks` answer as in `kubeports plan`."""
        self.logs.clear()
        self.root = stack_urn(stack, project)
        self.servicer.monitor = RecordingMonitor(mocks, stack=stack, project=project)
        return self.servicer.monitor

    def stop(self) -> None:
        self.server.stop(grace=None)
