"""Where a training step's time goes: TensorFlow's profiler trace, summed by kind of op.

The trace records every kernel the step's graph runs, named `scope/op:Type`; each is
put in the first kind whose rule matches (the order matters: a matmul inside the
spectral norm's sigma scope is the norm's cost, not the layer's). Times are the
kernels' own, summed over the executor's threads, so with inter-op parallelism their
sum can exceed the step's wall time: read the shares, not the sum.
"""

from __future__ import annotations

import collections
import re
import tempfile
from pathlib import Path

import tensorflow as tf
from tensorflow.tsl.profiler.protobuf import xplane_pb2

KINDS = (  # (kind, rule on (scope, op type)), first match wins
    ("optimizer updates", lambda scope, op: op.startswith("ResourceApply")
     or re.search(r"(^|/)(adam|rmsprop|sgd)(_\d+)?/", scope, re.IGNORECASE)),
    ("spectral norm: power iteration, sigma", lambda scope, op: "/sigma/" in scope),
    ("dropout masks", lambda scope, op: "dropout" in scope),
    ("random numbers: noise, augmentation", lambda scope, op: op.startswith("StatelessRandom")),
    ("gradient norms, metrics", lambda scope, op: re.search(
        r"(^|/)(global_norm|trackers|mean|step_\w+)(_\d+)?/", scope)),
    ("matmuls, convolutions", lambda scope, op: re.search(r"MatMul|Conv2D|Conv3D", op)),
    ("other elementwise ops", lambda scope, op: True),
)


def kind_of(scope, op_type):
    return next(kind for kind, rule in KINDS if rule(scope, op_type))


def op_times(xspace):
    """{(scope, op type): summed picoseconds} of the kernels in an `XSpace` trace."""
    times = collections.Counter()
    for plane in xspace.planes:
        for line in plane.lines:
            if not line.name.startswith("tf_Compute"):
                continue
            for event in line.events:
                name = plane.event_metadata[event.metadata_id].name
                if ":" not in name or "::" in name:  # executor bookkeeping, not a kernel
                    continue
                scope, op_type = name.rsplit(":", 1)
                times[(scope, op_type)] += event.duration_ps
    return times


def trace(step, steps):
    """Runs `step()` `steps` times under the profiler; returns the `XSpace` it recorded."""
    with tempfile.TemporaryDirectory(prefix="tfgan_replica-profile-") as logdir:
        tf.profiler.experimental.start(logdir)
        try:
            for _ in range(steps):
                result = step()
            tf.nest.map_structure(lambda value: value.numpy(), result)  # wait for the last
        finally:
            tf.profiler.experimental.stop()
        path, = Path(logdir).rglob("*.xplane.pb")
        xspace = xplane_pb2.XSpace()
        xspace.ParseFromString(path.read_bytes())
    return xspace


def breakdown(step, steps=30, warmup=5):
    """{kind: share of the step's kernel time} of `step()` after `warmup` untraced calls
    (the first traces the graph), in `KINDS` order."""
    for _ in range(warmup):
        step()
    by_kind = collections.Counter()
    for (scope, op_type), picoseconds in op_times(trace(step, steps)).items():
        by_kind[kind_of(scope, op_type)] += picoseconds
    total = sum(by_kind.values())
    return {kind: by_kind[kind] / total for kind, _ in KINDS if by_kind[kind]}


def format_breakdown(shares):
    return "  ".join(f"{kind} {share:.0%}" for kind, share in shares.items())
